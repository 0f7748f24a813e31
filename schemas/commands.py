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


PROMOTION_CERTIFICATION_WORKFLOW = "PromotionCertificationWorkflow"


PROMOTION_PREFIX = "promotion-"


def promotion_workflow_id(promotion_id: str) -> str:
    """The certification workflow's id, and the source id of the certificate it issues."""
    return f"{PROMOTION_PREFIX}{promotion_id}"


def promotion_id_of(source_id: str) -> str | None:
    """The promotion a certificate's source id names, or None for an assessed one."""
    if source_id.startswith(PROMOTION_PREFIX):
        return source_id.removeprefix(PROMOTION_PREFIX)
    return None
