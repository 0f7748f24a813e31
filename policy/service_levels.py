"""Service levels: how long work may wait before the operator console lists it as late.

Versioned data in ``data/service_levels/``; demo versions (seconds instead of days) exist
only where demo policies are admitted.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

from pydantic import BaseModel, ConfigDict, Field

from policy.errors import RuleViolation
from policy.rule_ids import Rule

DEFAULT_VERSION = "2026-standard"


class ServiceLevels(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    demo: bool = False
    description: str
    registration_review_seconds: int = Field(
        gt=0, description="a registration awaiting its body's review for longer is late"
    )
    objection_seconds: int = Field(gt=0, description="an objection awaiting the regulator")
    scores_after_exam_days: int = Field(
        ge=0, description="days after the exam date a session may still lack scores"
    )
    held_issuance_seconds: int = Field(gt=0, description="an issuance held on an inactive body")
    activity_attempts: int = Field(
        ge=2, description="the attempt from which a failing activity is listed as retrying"
    )


def versions() -> list[str]:
    folder = files("policy").joinpath("data", "service_levels")
    return sorted(
        p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")
    )


@cache
def service_levels(version: str = DEFAULT_VERSION, *, demo_allowed: bool = False) -> ServiceLevels:
    """The service levels of ``version``; a demo version only where demos are admitted."""
    if version not in versions():
        raise RuleViolation(
            "service_levels",
            Rule.SERVICE_LEVELS_UNKNOWN_VERSION,
            f"no service levels {version!r} (known: {', '.join(versions())})",
        )
    text = files("policy").joinpath("data", "service_levels", f"{version}.json").read_text()
    levels = ServiceLevels.model_validate(json.loads(text))
    if levels.demo and not demo_allowed:
        raise RuleViolation(
            "service_levels",
            Rule.POLICY_DEMO_NOT_ALLOWED,
            f"service levels {version!r} are for demos only",
        )
    return levels
