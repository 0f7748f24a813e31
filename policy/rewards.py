"""Competition cash rewards and the yearly promotion quota, from ``data/rewards/``.

A reward table belongs to one competition tier and is in force from its date until a
newer table of the same tier replaces it (WorldSkills tables change per edition).
"""

from __future__ import annotations

from datetime import date
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from policy.rule_ids import Rule
from policy.versioned_data import named_by_version, policy_files, read_policy_file

Medal = Literal["gold", "silver", "bronze", "excellence", "none"]

_PROMOTIONS_FILE: Final = "promotions.json"


class RewardTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    description: str
    tier: str
    effective_from: date
    amounts_fen: dict[Medal, int]


class PromotionPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    description: str
    max_per_person_per_year: int = Field(ge=1)


class Reward(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    amount_fen: int = Field(gt=0)
    rule_version: str


def _load() -> tuple[list[RewardTable], PromotionPolicy]:
    tables = [
        named_by_version(name, RewardTable.model_validate(data))
        for name, data in policy_files("rewards")
        if name != _PROMOTIONS_FILE
    ]
    promotions = PromotionPolicy.model_validate(read_policy_file("rewards", _PROMOTIONS_FILE))
    tables.sort(key=lambda t: t.effective_from)
    return tables, promotions


_TABLES, _PROMOTIONS = _load()


def reward_table_on(tier: str, competed_on: date) -> RewardTable | None:
    in_force = [t for t in _TABLES if t.tier == tier and t.effective_from <= competed_on]
    return in_force[-1] if in_force else None


def reward_for(tier: str, medal: str, competed_on: date) -> Reward | None:
    """The cash reward for ``medal`` at ``tier``; None when the tier's table pays none."""
    table = reward_table_on(tier, competed_on)
    if table is None:
        return None
    amount = table.amounts_fen.get(medal, 0)  # type: ignore[call-overload]
    if amount <= 0:
        return None
    return Reward(amount_fen=amount, rule_version=table.version)


def promotion_policy() -> PromotionPolicy:
    return _PROMOTIONS


def promotion_refusal(started_this_year: int, policy: PromotionPolicy) -> str | None:
    """The rule code refusing one more promotion this calendar year, or None to allow it."""
    if started_this_year >= policy.max_per_person_per_year:
        return Rule.PROMOTION_ONE_PER_YEAR
    return None
