"""One competition, from open entries to published results and its qualifiers' advancement.

Workflow id ``competition-{competition_id}``. Phases: entries_open -> marking -> locked ->
results_published -> advanced. Entries and marks are not commands to this workflow: the API
writes them to PostgreSQL under the phase this workflow recorded (a mark takes the
competition row FOR SHARE, a module lock FOR UPDATE, so none slips in after a lock). The
history therefore holds one update per phase change and per module, however large the
field: a round of 1,000 entrants and 30,000 judgement marks stays a few dozen events, so the
workflow needs no continue-as-new (``skillflow benchmark competition`` prints its size).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.types import MethodAsyncSingleParam

from policy.rule_ids import Rule
from schemas.competition import (
    Advanced,
    AdvanceRecord,
    CloseEntries,
    CompetitionOpening,
    CompetitionOpenRecord,
    CompetitionState,
    LockModule,
    ModuleLockRecord,
    Phase,
    PhaseOutcome,
    PhaseRecord,
    PublishedResults,
    PublishResults,
    ResultsRecord,
    WorldSkillsResults,
    WorldSkillsResultsRecord,
)
from workflows import search_attributes
from workflows.rules import rule_error

with workflow.unsafe.imports_passed_through():
    from activities.competition import CompetitionActivities
    from activities.resources import STEP_TIMEOUT

# Results of a large field are one transaction of a few thousand rows and events.
_RESULTS_TIMEOUT = timedelta(minutes=5)
_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10))
_Arg = TypeVar("_Arg")
_Result = TypeVar("_Result")


async def competition_step(
    activity: MethodAsyncSingleParam[Any, _Arg, _Result],
    arg: _Arg,
    *,
    timeout: timedelta = STEP_TIMEOUT,
) -> _Result:
    """One step of the competition process (a competition's or its squad's): each is one
    transaction, retried soon after a failure, since organisers wait on the answer."""
    return await workflow.execute_activity_method(
        activity, arg, start_to_close_timeout=timeout, retry_policy=_RETRY
    )


@workflow.defn(name="CompetitionWorkflow")
class CompetitionWorkflow:
    @workflow.init
    def __init__(self, opening: CompetitionOpening) -> None:
        self._opening = opening
        self._phase: Phase = "entries_open"
        self._opened = False
        self._locked: list[str] = []
        self._entries = 0
        self._results = 0
        self._advanced = 0
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, opening: CompetitionOpening) -> CompetitionState:
        outcome: PhaseOutcome = await competition_step(
            CompetitionActivities.open_competition,
            CompetitionOpenRecord(opening=opening, occurred_at=workflow.now()),
        )
        self._entries = outcome.entries
        self._opened = True
        workflow.upsert_search_attributes(
            [
                search_attributes.COMPETITION.value_set(opening.competition_id),
                search_attributes.OCCUPATION.value_set(opening.occupation_code),
                search_attributes.STAGE.value_set(self._phase),
            ]
        )
        await workflow.wait_condition(lambda: self._phase == "results_published")
        async with self._lock:
            advanced: Advanced = await competition_step(
                CompetitionActivities.advance,
                AdvanceRecord(competition_id=opening.competition_id, occurred_at=workflow.now()),
                timeout=_RESULTS_TIMEOUT,
            )
            self._advanced = advanced.qualifiers
            await self._set_phase("advanced")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    @workflow.query
    def state(self) -> CompetitionState:
        return CompetitionState(
            competition_id=self._opening.competition_id,
            phase=self._phase,
            modules_locked=tuple(self._locked),
            entries=self._entries,
            results=self._results,
            advanced=self._advanced,
        )

    @workflow.update
    async def await_opened(self, _: CloseEntries) -> CompetitionState:
        """Answers once the competition is recorded, so the API returns a usable one."""
        await workflow.wait_condition(lambda: self._opened)
        return self.state()

    @workflow.update
    async def close_entries(self, command: CloseEntries) -> CompetitionState:
        """No more entries; judges' conflicts with the field are recorded and marking opens."""
        await workflow.wait_condition(lambda: self._opened)
        async with self._lock:
            self.validate_close_entries(command)
            outcome: PhaseOutcome = await competition_step(
                CompetitionActivities.close_entries,
                PhaseRecord(
                    competition_id=self._opening.competition_id,
                    phase="marking",
                    occurred_at=workflow.now(),
                ),
                timeout=_RESULTS_TIMEOUT,
            )
            self._entries = outcome.entries
            self._enter_phase("marking")
            return self.state()

    @close_entries.validator
    def validate_close_entries(self, command: CloseEntries) -> None:
        self._require("entries_open")

    @workflow.update
    async def lock_module(self, command: LockModule) -> CompetitionState:
        """Sign off a module: every competitor's aspects in it must be accepted. Once every
        module is locked the competition is ready for results."""
        async with self._lock:
            self.validate_lock_module(command)
            await competition_step(
                CompetitionActivities.lock_module,
                ModuleLockRecord(
                    competition_id=self._opening.competition_id,
                    module_id=command.module_id,
                    locked_by=command.locked_by,
                    occurred_at=workflow.now(),
                ),
                timeout=_RESULTS_TIMEOUT,
            )
            self._locked.append(command.module_id)
            if len(self._locked) == len(self._opening.marking_scheme.modules):
                await self._set_phase("locked")
            return self.state()

    @lock_module.validator
    def validate_lock_module(self, command: LockModule) -> None:
        self._require("marking")
        if self._opening.marking_scheme.module(command.module_id) is None:
            raise rule_error(
                "module_id", Rule.MARKS_UNKNOWN_MODULE, "the marking scheme has no such module"
            )
        if command.module_id in self._locked:
            raise rule_error("module_id", Rule.MARKS_MODULE_LOCKED, "this module is already locked")

    @workflow.update
    async def publish_results(self, command: PublishResults) -> CompetitionState:
        """Rank, award, promote and publish; the qualifiers then advance by themselves."""
        async with self._lock:
            self.validate_publish_results(command)
            published: PublishedResults = await competition_step(
                CompetitionActivities.publish_results,
                ResultsRecord(
                    competition_id=self._opening.competition_id,
                    published_by=command.published_by,
                    occurred_at=workflow.now(),
                ),
                timeout=_RESULTS_TIMEOUT,
            )
            self._results = published.results
            self._enter_phase("results_published")
            return self.state()

    @publish_results.validator
    def validate_publish_results(self, command: PublishResults) -> None:
        self._require("locked")

    @workflow.update
    async def record_worldskills_results(self, command: WorldSkillsResults) -> CompetitionState:
        """WorldSkills itself marks: the organiser enters the team's scale scores and medals,
        which are published as results (medal, reward, title and promotion events)."""
        async with self._lock:
            self.validate_worldskills_results(command)
            published: PublishedResults = await competition_step(
                CompetitionActivities.record_worldskills_results,
                WorldSkillsResultsRecord(
                    competition_id=self._opening.competition_id,
                    results=command.results,
                    recorded_by=command.recorded_by,
                    occurred_at=workflow.now(),
                ),
            )
            self._results = published.results
            self._enter_phase("results_published")
            return self.state()

    @record_worldskills_results.validator
    def validate_worldskills_results(self, command: WorldSkillsResults) -> None:
        if self._opening.tier != "worldskills":
            raise rule_error(
                "competition_id",
                Rule.COMPETITION_NOT_WORLDSKILLS,
                "only a WorldSkills competition takes results entered by the organiser",
            )
        if self._phase not in ("entries_open", "marking"):
            raise rule_error(
                "competition_id",
                Rule.COMPETITION_RESULTS_RECORDED,
                f"the competition is in phase {self._phase}",
            )

    def _require(self, phase: Phase) -> None:
        if self._phase != phase:
            raise rule_error(
                "competition_id",
                Rule(f"competition.not_{phase}"),
                f"the competition is in phase {self._phase}, not {phase}",
            )

    async def _set_phase(self, phase: Phase) -> None:
        await competition_step(
            CompetitionActivities.record_phase,
            PhaseRecord(
                competition_id=self._opening.competition_id, phase=phase, occurred_at=workflow.now()
            ),
        )
        self._enter_phase(phase)

    def _enter_phase(self, phase: Phase) -> None:
        self._phase = phase
        workflow.upsert_search_attributes([search_attributes.STAGE.value_set(phase)])
