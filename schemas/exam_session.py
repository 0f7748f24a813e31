"""Inputs, commands and answers of the exam-session workflow (id ``session-{session_id}``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from policy.assessment import AssessmentPolicy, Examiner
from policy.catalogue import Component

SessionStatus = Literal["open", "running", "closed"]
SESSION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SessionExaminer(Examiner):
    """An examiner on a session's panel. Relations are person keys, never ID numbers."""

    panel: Literal["practical", "review"] = "practical"


class SessionOpening(_Model):
    """Workflow input of ``ExamSessionWorkflow``; the API has checked staffing already."""

    session_id: str = Field(pattern=SESSION_ID_PATTERN)
    body_id: str
    occupation_code: str
    level: int = Field(ge=1, le=5)
    exam_date: date
    registration_closes_on: date
    capacity: int = Field(ge=1, le=100_000)
    theory_rooms: int = Field(ge=1)
    proctors: int = Field(ge=0)
    examiners: list[SessionExaminer] = Field(min_length=1)
    policy_version: str = "2024-default"
    opened_by: str = ""


class OpenedSession(_Model):
    """What the open-session activity recorded: the figures the session runs under."""

    pass_mark: int
    policy: AssessmentPolicy
    body_type: Literal["S", "Y"]
    required_components: tuple[Component, ...] | None = Field(
        None,
        description="the components the occupation and level required at opening; "
        "None when recorded before sessions kept them",
    )


class SessionState(_Model):
    session_id: str
    status: SessionStatus
    pass_mark: int | None = None


class StartExam(_Model):
    started_by: str = ""


class CloseSession(_Model):
    closed_by: str = ""


class SessionStatusRecord(_Model):
    session_id: str
    status: SessionStatus
    occurred_at: datetime


class SessionOpenRecord(_Model):
    opening: SessionOpening
    occurred_at: datetime
