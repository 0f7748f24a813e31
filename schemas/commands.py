"""Commands that cross service boundaries (a consumer starting a workflow)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class PromotionCertificationRequest(BaseModel):
    """Start the no-exam certification path for a competition promotion.

    Started by the incentive consumer on ``promotion.granted`` as workflow
    ``promotion-{promotion_id}`` (so a redelivered event cannot start it twice).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    promotion_id: str
    person_key: str = Field(pattern=r"^[0-9a-f]{64}$")
    holder_name_masked: str
    competition_id: str
    occupation_code: str
    to_level: int = Field(ge=1, le=5)
    issuing_body_id: str
    granted_on: date
    correlation_id: str = Field(description="the id of the promotion.granted event")
