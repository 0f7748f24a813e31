"""Inputs, commands and answers of the competition workflow (id ``competition-{id}``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from policy.competition import Category, MarkingScheme, Tier

# Built with the other workflow ids; re-exported beside the models it goes with.
from schemas.workflow_ids import competition_workflow_id as competition_workflow_id

Phase = Literal["entries_open", "marking", "locked", "results_published", "advanced"]
PHASES: tuple[Phase, ...] = ("entries_open", "marking", "locked", "results_published", "advanced")
COMPETITION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,47}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CompetitionOpening(_Model):
    """Workflow input of ``CompetitionWorkflow``; the API has checked the rule set, the
    marking scheme and the competition it feeds."""

    competition_id: str = Field(pattern=COMPETITION_ID_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    tier: Tier
    rule_version: str
    occupation_code: str
    worldskills_skill: str | None = None
    edition_year: int = Field(ge=2000, le=2100)
    competed_on: date
    organiser_id: str = Field(min_length=1, max_length=64)
    issuing_body_id: str | None = None
    categories: tuple[Category, ...] = Field(min_length=1)
    marking_scheme: MarkingScheme
    feeds_competition_id: str | None = None
    opened_by: str = ""


class CompetitionOpenRecord(_Model):
    opening: CompetitionOpening
    occurred_at: datetime


class CompetitionState(_Model):
    competition_id: str
    phase: Phase
    modules_locked: tuple[str, ...] = ()
    entries: int = 0
    results: int = 0
    advanced: int = 0


class CloseEntries(_Model):
    closed_by: str = ""


class LockModule(_Model):
    module_id: str = Field(min_length=1, max_length=32)
    locked_by: str = ""


class PublishResults(_Model):
    published_by: str = ""


class PhaseRecord(_Model):
    competition_id: str
    phase: Phase
    occurred_at: datetime


class PhaseOutcome(_Model):
    """What a phase change found: entries at the close, recusals recorded."""

    entries: int = 0
    recusals: int = 0


class ModuleLockRecord(_Model):
    competition_id: str
    module_id: str
    locked_by: str
    occurred_at: datetime


class ResultsRecord(_Model):
    competition_id: str
    published_by: str
    occurred_at: datetime


class PublishedResults(_Model):
    results: int
    medals: int
    promotions: int
    titles: int


class AdvanceRecord(_Model):
    competition_id: str
    occurred_at: datetime


class Advanced(_Model):
    qualifiers: int
    entered: int


class MarkInput(_Model):
    """One mark as a judge enters it (API, CSV or benchmark)."""

    person_key: str = Field(pattern=r"^[0-9a-f]{64}$")
    aspect_id: str = Field(min_length=1, max_length=32)
    value: str = Field(description="decimal text, validated against the aspect")


class EntryFacts(_Model):
    """An entry after the ID number was checked and hashed at the door."""

    person_key: str = Field(pattern=r"^[0-9a-f]{64}$")
    holder_name_masked: str
    birth_year: int = Field(ge=1900, le=2100)
    category: Category = "workers"
    employer: str = ""
    region: str = ""
    level_held: int | None = Field(None, ge=1, le=5)


class AssignJudge(_Model):
    """An organiser's assignment of a judge (by token name) to aspects of the scheme."""

    judge_id: str
    employer: str = ""
    region: str = ""
    aspects: tuple[str, ...]
    assigned_by: str
    assigned_at: datetime


class WorldSkillsResult(_Model):
    """The team member's result at WorldSkills, as the organiser enters it."""

    person_key: str = Field(pattern=r"^[0-9a-f]{64}$")
    scale_score: int = Field(ge=0, le=1000)
    medal: Literal["gold", "silver", "bronze", "none"]


class WorldSkillsResults(_Model):
    results: tuple[WorldSkillsResult, ...] = Field(min_length=1, max_length=100)
    recorded_by: str = ""


class WorldSkillsResultsRecord(_Model):
    competition_id: str
    results: tuple[WorldSkillsResult, ...]
    recorded_by: str
    occurred_at: datetime
