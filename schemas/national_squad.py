"""Inputs, commands and answers of the national squad workflow (id ``squad-{squad_id}``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Built with the other workflow ids; re-exported beside the models it goes with.
from schemas.workflow_ids import squad_workflow_id as squad_workflow_id

SQUAD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,47}$"
MemberStatus = Literal["active", "reserve", "eliminated", "withdrawn", "team_member"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SquadOpening(_Model):
    squad_id: str = Field(pattern=SQUAD_ID_PATTERN)
    selection_competition_id: str
    worldskills_competition_id: str
    skill: str
    organiser_id: str
    opened_by: str = ""


class SquadFormRecord(_Model):
    opening: SquadOpening
    occurred_at: datetime


class SquadMember(_Model):
    """A member, numbered by their entry in the selection competition."""

    member: int = Field(ge=1)
    person_key: str = Field(pattern=r"^[0-9a-f]{64}$")
    seed: int = Field(ge=1, description="standing before this round, 1 best")


class SquadFormed(_Model):
    rounds: tuple[int, ...]
    members: tuple[SquadMember, ...]
    reserves: tuple[SquadMember, ...]


class MemberScore(_Model):
    member: int = Field(ge=1)
    score: str = Field(description="0-100, decimal text")


class RoundScores(_Model):
    round: int = Field(ge=1)
    scores: tuple[MemberScore, ...] = Field(min_length=1, max_length=100)


class Withdrawal(_Model):
    member: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=200)


class CloseRound(_Model):
    round: int = Field(ge=1)
    closed_by: str = ""


class SquadChangeRecord(_Model):
    """The squad's members after a change, for the read model."""

    squad_id: str
    round: int
    members: tuple[SquadMember, ...]
    statuses: dict[int, MemberStatus]
    scores: dict[int, str] = Field(default_factory=dict)
    occurred_at: datetime


class TeamMemberRecord(_Model):
    squad_id: str
    selection_competition_id: str
    worldskills_competition_id: str
    member: SquadMember
    occurred_at: datetime


class SquadState(_Model):
    squad_id: str
    round: int
    rounds: tuple[int, ...] = ()
    members: tuple[SquadMember, ...] = ()
    reserves: int = 0
    scores: dict[int, str] = Field(default_factory=dict)
    team_member: int | None = None
    entered_for_worldskills: bool = False
