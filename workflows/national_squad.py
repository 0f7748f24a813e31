"""The national training squad: from a WorldSkills national selection to one team member.

Workflow id ``squad-{squad_id}``. The selection's leaders form the squad (10 by default; the
skill's rule set says); each elimination round (10 -> 5 -> 2 -> 1 by default) takes an
assessment score per member and keeps the best, the previous standing breaking a tie. A
member who withdraws mid-round is replaced by the next-ranked: the best of those eliminated
in the round before (for the first round, the next in the selection's ranking). The last
round's winner is entered for WorldSkills. The squad is at most a few dozen people, so the
workflow holds them; each change is also written to PostgreSQL for reads.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal, InvalidOperation

from temporalio import workflow

from policy.competition import SquadStanding, squad_cut
from policy.rule_ids import Rule
from schemas.national_squad import (
    CloseRound,
    MemberStatus,
    RoundScores,
    SquadChangeRecord,
    SquadFormed,
    SquadFormRecord,
    SquadMember,
    SquadOpening,
    SquadState,
    TeamMemberRecord,
    Withdrawal,
)
from workflows import search_attributes
from workflows.competition import competition_step
from workflows.rules import rule_error

with workflow.unsafe.imports_passed_through():
    from activities.national_squad import NationalSquadActivities


@workflow.defn(name="NationalSquadWorkflow")
class NationalSquadWorkflow:
    @workflow.init
    def __init__(self, opening: SquadOpening) -> None:
        self._opening = opening
        self._formed: SquadFormed | None = None
        self._round = 0
        self._members: list[SquadMember] = []
        self._reserves: list[SquadMember] = []
        self._scores: dict[int, str] = {}
        self._statuses: dict[int, MemberStatus] = {}
        self._closed_round = 0
        self._team_member: SquadMember | None = None
        self._entered = False
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, opening: SquadOpening) -> SquadState:
        formed: SquadFormed = await competition_step(
            NationalSquadActivities.form,
            SquadFormRecord(opening=opening, occurred_at=workflow.now()),
        )
        self._formed = formed
        self._members = list(formed.members)
        self._reserves = list(formed.reserves)
        self._statuses = {m.member: "active" for m in self._members}
        self._statuses |= {m.member: "reserve" for m in self._reserves}
        workflow.upsert_search_attributes(
            [
                search_attributes.COMPETITION.value_set(opening.selection_competition_id),
                search_attributes.ROUND.value_set("1"),
            ]
        )
        for round_number in range(1, len(formed.rounds)):
            self._round = round_number
            self._scores = {}
            workflow.upsert_search_attributes(
                [search_attributes.ROUND.value_set(str(round_number))]
            )
            await workflow.wait_condition(lambda n=round_number: self._closed_round >= n)  # type: ignore[misc]
        assert self._team_member is not None
        async with self._lock:
            self._entered = await competition_step(
                NationalSquadActivities.enter_team_member,
                TeamMemberRecord(
                    squad_id=opening.squad_id,
                    selection_competition_id=opening.selection_competition_id,
                    worldskills_competition_id=opening.worldskills_competition_id,
                    member=self._team_member,
                    occurred_at=workflow.now(),
                ),
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    @workflow.query
    def state(self) -> SquadState:
        return SquadState(
            squad_id=self._opening.squad_id,
            round=self._round,
            rounds=self._formed.rounds if self._formed else (),
            members=tuple(self._members),
            reserves=len(self._reserves),
            scores=dict(self._scores),
            team_member=self._team_member.member if self._team_member else None,
            entered_for_worldskills=self._entered,
        )

    @workflow.update
    async def await_formed(self, _: CloseRound) -> SquadState:
        await workflow.wait_condition(lambda: self._formed is not None)
        return self.state()

    @workflow.update
    async def record_scores(self, scores: RoundScores) -> SquadState:
        """A round's assessment scores (again for a member: the later score counts)."""
        async with self._lock:
            self.validate_record_scores(scores)
            for entry in scores.scores:
                self._scores[entry.member] = str(Decimal(entry.score))
            await self._record()
            return self.state()

    @record_scores.validator
    def validate_record_scores(self, scores: RoundScores) -> None:
        self._require_round(scores.round)
        active = {m.member for m in self._members}
        for entry in scores.scores:
            if entry.member not in active:
                raise rule_error(
                    "member", Rule.SQUAD_NOT_ACTIVE, f"member {entry.member} is not in this round"
                )
            try:
                value = Decimal(entry.score)
            except InvalidOperation:
                raise rule_error("score", Rule.SQUAD_SCORE_RANGE, "a score is a number") from None
            if not value.is_finite() or not 0 <= value <= 100:
                raise rule_error("score", Rule.SQUAD_SCORE_RANGE, "a score lies in 0-100")

    @workflow.update
    async def withdraw(self, withdrawal: Withdrawal) -> SquadState:
        """A member leaves mid-round; the next-ranked moves up into the round."""
        async with self._lock:
            self.validate_withdraw(withdrawal)
            leaving = next(m for m in self._members if m.member == withdrawal.member)
            self._members.remove(leaving)
            self._scores.pop(leaving.member, None)
            self._statuses[leaving.member] = "withdrawn"
            if self._reserves:
                nxt = self._reserves.pop(0)
                self._members.append(nxt.model_copy(update={"seed": len(self._members) + 1}))
                self._statuses[nxt.member] = "active"
            await self._record()
            return self.state()

    @withdraw.validator
    def validate_withdraw(self, withdrawal: Withdrawal) -> None:
        if self._round == 0 or self._team_member is not None:
            raise rule_error("member", Rule.SQUAD_NO_ROUND, "no elimination round is running")
        if withdrawal.member not in {m.member for m in self._members}:
            raise rule_error("member", Rule.SQUAD_NOT_ACTIVE, "this member is not in the round")

    @workflow.update
    async def close_round(self, command: CloseRound) -> SquadState:
        """Keep the round's best; the rest become the next-ranked for the round after."""
        async with self._lock:
            self.validate_close_round(command)
            assert self._formed is not None
            keep = self._formed.rounds[self._round]
            by_member = {m.member: m for m in self._members}
            kept, eliminated = squad_cut(
                [
                    SquadStanding(
                        member=m.member, seed=m.seed, score=Decimal(self._scores[m.member])
                    )
                    for m in self._members
                ],
                keep,
            )
            self._members = [
                by_member[n].model_copy(update={"seed": i}) for i, n in enumerate(kept, start=1)
            ]
            out = [by_member[n] for n in eliminated]
            self._reserves = [
                m.model_copy(update={"seed": keep + i}) for i, m in enumerate(out, start=1)
            ] + self._reserves
            for m in out:
                self._statuses[m.member] = "eliminated"
            if keep == 1:
                self._team_member = self._members[0]
                self._statuses[self._team_member.member] = "team_member"
            await self._record()
            self._closed_round = command.round
            return self.state()

    @close_round.validator
    def validate_close_round(self, command: CloseRound) -> None:
        self._require_round(command.round)
        missing = sorted(m.member for m in self._members if m.member not in self._scores)
        if missing:
            raise rule_error(
                "round",
                Rule.SQUAD_SCORES_MISSING,
                f"members {', '.join(map(str, missing))} have no score in round {command.round}",
            )

    def _require_round(self, round_number: int) -> None:
        if self._round == 0 or self._team_member is not None or round_number != self._round:
            raise rule_error(
                "round", Rule.SQUAD_NOT_CURRENT_ROUND, f"the current round is {self._round}"
            )

    async def _record(self) -> None:
        await competition_step(
            NationalSquadActivities.record_change,
            SquadChangeRecord(
                squad_id=self._opening.squad_id,
                round=self._round,
                members=tuple(self._members) + tuple(self._reserves),
                statuses=dict(self._statuses),
                scores=dict(self._scores),
                occurred_at=workflow.now(),
            ),
        )
