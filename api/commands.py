"""Sending commands to workflows and turning their refusals into the API's 422 shape.

Routes command a process through its ``Process`` below (``SESSIONS.update(services,
session_id, ExamSessionWorkflow.start_exam, StartExam(...))``), typed by the workflow's
update method; a new one is started (``start``) and, where its opening may be refused,
awaited (``opened``) the same way for every kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from temporalio.client import (
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.types import MethodAsyncSingleParam
from temporalio.workflow import UpdateMethodMultiParam

from api.services import ApiServices
from policy.errors import RuleViolation
from policy.rule_ids import Rule
from schemas.workflow_ids import (
    application_workflow_id,
    body_workflow_id,
    competition_workflow_id,
    session_workflow_id,
    squad_workflow_id,
)
from skillflow.temporal import execute_update, failure_of

_Arg = TypeVar("_Arg")
_Opening = TypeVar("_Opening")
_Result = TypeVar("_Result")


@dataclass(frozen=True)
class Process:
    """A kind of workflow the API commands: its name in refusals (``session``: "no session
    with this id", ``session.closed``) and how an object's id becomes its workflow id."""

    what: str
    workflow_id: Callable[[str], str]

    async def update(
        self,
        services: ApiServices,
        key: str,
        update: UpdateMethodMultiParam[[Any, _Arg], _Result],
        arg: _Arg,
    ) -> _Result:
        """Run ``update`` on the workflow of object ``key``."""
        return await execute_update(
            services.temporal, self.workflow_id(key), update, arg, what=self.what
        )

    async def start(
        self,
        services: ApiServices,
        key: str,
        run: MethodAsyncSingleParam[Any, _Opening, Any],
        opening: _Opening,
        *,
        exists: Rule,
    ) -> str:
        """Start the workflow of a new object ``key`` (refused under ``exists`` if one was
        started before); answers its workflow id."""
        workflow_id = self.workflow_id(key)
        try:
            await services.temporal.start_workflow(
                run, opening, id=workflow_id, task_queue=services.settings.task_queue
            )
        except WorkflowAlreadyStartedError:
            raise RuleViolation(
                f"{self.what}_id", exists, f"a {self.what} with this id exists"
            ) from None
        return workflow_id

    async def opened(
        self,
        services: ApiServices,
        key: str,
        until: UpdateMethodMultiParam[[Any, _Arg], _Result],
        arg: _Arg,
    ) -> _Result:
        """Wait (update ``until``) for a workflow just started to open: the answer is its
        first state, or the rules its opening broke."""
        try:
            return await self.update(services, key, until, arg)
        except (RuleViolation, WorkflowUpdateFailedError):
            # A refused opening fails the workflow, before this update arrives (then it
            # finds the workflow closed) or while it waits: the failure names the rules.
            await failure_of(services.temporal, self.workflow_id(key))
            raise


APPLICATIONS: Final = Process("application", application_workflow_id)
SESSIONS: Final = Process("session", session_workflow_id)
BODIES: Final = Process("body", body_workflow_id)
COMPETITIONS: Final = Process("competition", competition_workflow_id)
SQUADS: Final = Process("squad", squad_workflow_id)
