"""National occupations offered for evaluation, read from ``data/occupations.json``."""

from __future__ import annotations

import re
from typing import Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from policy.errors import RuleViolation, known_or_refused
from policy.rule_ids import Rule
from policy.versioned_data import read_policy_file

Component = Literal["theory", "practical", "review"]

NATIONAL_LEVELS: Final = (1, 2, 3, 4, 5)
# The national names of the five levels (国家职业资格等级), as certificates print them.
NATIONAL_LEVEL_NAMES: Final = {
    5: "五级/初级工",
    4: "四级/中级工",
    3: "三级/高级工",
    2: "二级/技师",
    1: "一级/高级技师",
}
_COMPONENT_ORDER: Final[tuple[Component, ...]] = ("theory", "practical", "review")
_CODE_SHAPE: Final = re.compile(r"\d-\d{2}-\d{2}-\d{2}")


class Occupation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^\d-\d{2}-\d{2}-\d{2}$", description="职业分类大典 code")
    name: str = Field(min_length=1)
    levels: tuple[int, ...] = Field(
        description="National levels offered, 5 (初级工) to 1 (高级技师); a tuple so the "
        "shared catalogue cannot be altered by a caller",
    )
    theory_before_practical: bool = Field(
        description="The standard requires the theory exam passed before the practical is sat"
    )
    shortage: bool
    shortage_uplift_pct: int = Field(
        description="Extra skill-upgrading subsidy for a shortage occupation, 10-30, else 0"
    )
    eligibility_table: str = Field(description="Version id of the 申报条件 table it uses")
    special_ability: bool = Field(
        default=False, description="专项职业能力: a level-less certificate for one skill"
    )
    components: dict[int, tuple[Component, ...]] = Field(
        default_factory=dict,
        description="Exams per offered level, theory first; where the file leaves them out, "
        "the catalogue's components_by_level",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.special_ability:
            if self.levels:
                raise ValueError("a special-ability occupation has no levels")
        elif not self.levels or any(level not in NATIONAL_LEVELS for level in self.levels):
            raise ValueError("levels must be a non-empty selection of 1-5")
        if len(set(self.levels)) != len(self.levels):
            raise ValueError("levels must not repeat")
        if self.shortage and not 10 <= self.shortage_uplift_pct <= 30:
            raise ValueError("a shortage occupation has an uplift of 10-30 percent")
        if not self.shortage and self.shortage_uplift_pct != 0:
            raise ValueError("only a shortage occupation has an uplift")
        for level, exams in self.components.items():
            if level not in self.levels:
                raise ValueError(f"components are given for level {level}, which is not offered")
            _check_components(exams)
        return self


def _check_components(exams: tuple[Component, ...]) -> None:
    if not {"theory", "practical"} <= set(exams):
        raise ValueError("every level has a theory and a practical exam")
    if list(exams) != [c for c in _COMPONENT_ORDER if c in exams]:
        raise ValueError("components are listed once each, in the order theory, practical, review")


class _CatalogueFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    components_by_level: dict[int, tuple[Component, ...]]
    occupations: tuple[Occupation, ...]

    @model_validator(mode="after")
    def _every_level_has_components(self) -> Self:
        if set(self.components_by_level) != set(NATIONAL_LEVELS):
            raise ValueError("components_by_level covers the national levels 1-5")
        for exams in self.components_by_level.values():
            _check_components(exams)
        return self


def _load() -> dict[str, Occupation]:
    # Read at import so that rules called inside a Temporal workflow never do I/O.
    catalogue = _CatalogueFile.model_validate(read_policy_file("occupations.json"))
    by_code = {
        occupation.code: occupation.model_copy(
            update={
                "components": {
                    level: occupation.components.get(level, catalogue.components_by_level[level])
                    for level in occupation.levels
                }
            }
        )
        for occupation in catalogue.occupations
    }
    if len(by_code) != len(catalogue.occupations):
        raise ValueError("occupations.json lists an occupation code twice")
    return by_code


_OCCUPATIONS: Final = _load()


def get_occupation(code: str) -> Occupation:
    return known_or_refused(
        _OCCUPATIONS,
        code,
        field="occupation_code",
        rule=Rule.CATALOGUE_UNKNOWN_OCCUPATION,
        message="occupation code{key} is not in the catalogue",
        shape=_CODE_SHAPE,
    )


def list_occupations() -> list[Occupation]:
    return sorted(_OCCUPATIONS.values(), key=lambda occupation: occupation.code)


def required_components(occupation: Occupation, level: int) -> tuple[Component, ...]:
    """Exams a candidate must pass for this level, theory first."""
    if level not in occupation.levels:
        raise RuleViolation(
            "level",
            Rule.CATALOGUE_LEVEL_NOT_OFFERED,
            f"level {level} is not offered for occupation {occupation.code}",
        )
    return occupation.components[level]
