"""The national training squad (organiser) and the WorldSkills result it ends in."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, status
from pydantic import Field
from temporalio.service import RPCError, RPCStatusCode

from api.access import Caller
from api.commands import COMPETITIONS, SQUADS
from api.routes.competitions import CompetitionOrganiser, Organiser
from api.services import Services
from policy.errors import NotFound, RuleViolation
from policy.rule_ids import Rule
from schemas.competition import (
    CompetitionState,
    WorldSkillsResult,
    WorldSkillsResults,
)
from schemas.inputs import RequestBody
from schemas.national_squad import (
    SQUAD_ID_PATTERN,
    CloseRound,
    MemberScore,
    RoundScores,
    SquadOpening,
    SquadState,
    Withdrawal,
    squad_workflow_id,
)
from store import competitions
from workflows.competition import CompetitionWorkflow
from workflows.national_squad import NationalSquadWorkflow

router = APIRouter(tags=["competitions"])


async def squad_organiser(squad_id: str, services: Services, caller: Organiser) -> Caller:
    """An organiser bound to bodies acts on a squad whose selection one of them organises."""
    if caller.bodies:
        async with services.pool.acquire() as conn:
            selection = await competitions.squad_selection(conn, squad_id)
            organiser = (
                None if selection is None else await competitions.organiser_of(conn, selection)
            )
        caller.check_body(organiser)
    return caller


SquadOrganiser = Annotated[Caller, Depends(squad_organiser)]


class SquadRequest(RequestBody):
    squad_id: str = Field(pattern=SQUAD_ID_PATTERN)
    selection_competition_id: str = Field(max_length=48)
    worldskills_competition_id: str = Field(max_length=48)
    skill: str = Field(pattern=r"^[a-z0-9-]{1,64}$")


@router.post("/squads", status_code=status.HTTP_201_CREATED)
async def form_squad(request: SquadRequest, caller: Organiser, services: Services) -> SquadState:
    """Form the training squad from a WorldSkills selection's published results."""
    organiser_id = await services.found(
        competitions.organiser_of,
        request.selection_competition_id,
        "no selection competition with this id",
    )
    caller.check_body(organiser_id)
    opening = SquadOpening(**request.model_dump(), organiser_id=organiser_id, opened_by=caller.name)
    await SQUADS.start(
        services, request.squad_id, NationalSquadWorkflow.run, opening, exists=Rule.SQUAD_EXISTS
    )
    return await SQUADS.opened(
        services, request.squad_id, NationalSquadWorkflow.await_formed, CloseRound(round=1)
    )


@router.get("/squads/{squad_id}")
async def get_squad(squad_id: str, _: SquadOrganiser, services: Services) -> SquadState:
    handle = services.temporal.get_workflow_handle(squad_workflow_id(squad_id))
    try:
        state: SquadState = await handle.query(NationalSquadWorkflow.state)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound("no squad with this id") from None
        raise
    return state


class ScoresRequest(RequestBody):
    scores: list[MemberScore] = Field(min_length=1, max_length=100)


@router.post("/squads/{squad_id}/rounds/{round_number}/scores")
async def squad_scores(
    squad_id: str,
    round_number: int,
    request: ScoresRequest,
    _: SquadOrganiser,
    services: Services,
) -> SquadState:
    """A round's assessment scores, by member (the member's selection entry number)."""
    return await SQUADS.update(
        services,
        squad_id,
        NationalSquadWorkflow.record_scores,
        RoundScores(round=round_number, scores=tuple(request.scores)),
    )


@router.post("/squads/{squad_id}/withdrawals")
async def squad_withdrawal(
    squad_id: str, request: Withdrawal, _: SquadOrganiser, services: Services
) -> SquadState:
    """A member withdraws mid-round; the next-ranked moves up."""
    return await SQUADS.update(services, squad_id, NationalSquadWorkflow.withdraw, request)


@router.post("/squads/{squad_id}/rounds/{round_number}/close")
async def squad_close_round(
    squad_id: str, round_number: int, caller: SquadOrganiser, services: Services
) -> SquadState:
    return await SQUADS.update(
        services,
        squad_id,
        NationalSquadWorkflow.close_round,
        CloseRound(round=round_number, closed_by=caller.name),
    )


class WorldSkillsResultRequest(RequestBody):
    entry: int = Field(ge=1, le=1_000_000)
    scale_score: int = Field(ge=0, le=1000)
    medal: Literal["gold", "silver", "bronze", "none"]


class WorldSkillsResultsRequest(RequestBody):
    results: list[WorldSkillsResultRequest] = Field(min_length=1, max_length=100)


@router.post("/competitions/{competition_id}/worldskills-results")
async def worldskills_results(
    competition_id: str,
    request: WorldSkillsResultsRequest,
    caller: CompetitionOrganiser,
    services: Services,
) -> CompetitionState:
    """The team's WorldSkills results (scale score, medal): medal, reward, title and
    promotion events follow as for any published result."""
    numbers = [r.entry for r in request.results]
    async with services.pool.acquire() as conn:
        keys = await competitions.person_keys_of_entries(conn, competition_id, numbers)
    missing = sorted(set(numbers) - set(keys))
    if missing:
        raise RuleViolation(
            "results.entry", Rule.MARKS_NOT_ENTERED, f"no entries {missing} in this competition"
        )
    return await COMPETITIONS.update(
        services,
        competition_id,
        CompetitionWorkflow.record_worldskills_results,
        WorldSkillsResults(
            results=tuple(
                WorldSkillsResult(
                    person_key=keys[r.entry], scale_score=r.scale_score, medal=r.medal
                )
                for r in request.results
            ),
            recorded_by=caller.name,
        ),
    )
