"""Activities of the national squad workflow: forming the squad from a WorldSkills
selection's results, its read model, and entering the team member for WorldSkills."""

from __future__ import annotations

from temporalio import activity

from activities.competition import enter_qualifier
from activities.competition_entries import competition_event, competition_row
from activities.resources import ActivityResources
from policy.competition import rule_set
from policy.errors import NotFound
from policy.rule_ids import Rule
from schemas.national_squad import (
    SquadChangeRecord,
    SquadFormed,
    SquadFormRecord,
    SquadMember,
    TeamMemberRecord,
)
from schemas.payloads import CompetitorAdvanced
from store.outbox import enqueue
from workflows.rules import rule_error


class NationalSquadActivities:
    def __init__(self, resources: ActivityResources) -> None:
        self._pool = resources.pool

    @activity.defn(name="squad.form")
    async def form(self, record: SquadFormRecord) -> SquadFormed:
        """The selection's leaders form the squad; the next as many are its reserves."""
        opening = record.opening
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                selection = await competition_row(conn, opening.selection_competition_id)
                worldskills = await competition_row(conn, opening.worldskills_competition_id)
            except NotFound as missing:
                raise rule_error(
                    "competition_id", Rule.SQUAD_UNKNOWN_COMPETITION, str(missing)
                ) from None
            if selection["tier"] != "worldskills_selection" or worldskills["tier"] != "worldskills":
                raise rule_error(
                    "competition_id",
                    Rule.SQUAD_TIERS,
                    "a squad goes from a worldskills_selection to a worldskills competition",
                )
            if selection["phase"] not in ("results_published", "advanced"):
                raise rule_error(
                    "selection_competition_id",
                    Rule.RESULTS_NOT_PUBLISHED,
                    "the selection's results are not published yet",
                )
            rounds = rule_set(selection["rule_version"]).rounds_for(opening.skill)
            if not rounds:
                raise rule_error("skill", Rule.SQUAD_NO_ROUNDS, "the rule set has no squad rounds")
            ranked = await conn.fetch(
                """SELECT e.entry_sequence, r.person_key FROM competitions.results r
                   JOIN competitions.entries e USING (competition_id, person_key)
                   WHERE r.competition_id = $1 ORDER BY r.rank, e.entry_sequence LIMIT $2""",
                opening.selection_competition_id,
                rounds[0] * 2,
            )
            people = [
                SquadMember(member=r["entry_sequence"], person_key=r["person_key"], seed=i)
                for i, r in enumerate(ranked, start=1)
            ]
            members, reserves = people[: rounds[0]], people[rounds[0] :]
            await conn.execute(
                """INSERT INTO competitions.squads
                     (squad_id, selection_competition_id, worldskills_competition_id, skill,
                      rounds, formed_at)
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
                opening.squad_id,
                opening.selection_competition_id,
                opening.worldskills_competition_id,
                opening.skill,
                list(rounds),
                record.occurred_at,
            )
            await conn.executemany(
                """INSERT INTO competitions.squad_members
                     (squad_id, member, person_key, status, seed, updated_at)
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
                [
                    (opening.squad_id, m.member, m.person_key, status, m.seed, record.occurred_at)
                    for group, status in ((members, "active"), (reserves, "reserve"))
                    for m in group
                ],
            )
        return SquadFormed(rounds=rounds, members=tuple(members), reserves=tuple(reserves))

    @activity.defn(name="squad.record_change")
    async def record_change(self, record: SquadChangeRecord) -> None:
        seeds = {m.member: m.seed for m in record.members}
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE competitions.squads SET current_round = $2 WHERE squad_id = $1",
                record.squad_id,
                record.round,
            )
            await conn.executemany(
                """UPDATE competitions.squad_members
                   SET status = $3, seed = coalesce($4, seed),
                       last_round = CASE WHEN $5::numeric IS NULL THEN last_round ELSE $6 END,
                       last_score = coalesce($5::numeric, last_score), updated_at = $7
                   WHERE squad_id = $1 AND member = $2""",
                [
                    (
                        record.squad_id,
                        member,
                        status,
                        seeds.get(member),
                        record.scores.get(member),
                        record.round,
                        record.occurred_at,
                    )
                    for member, status in record.statuses.items()
                ],
            )

    @activity.defn(name="squad.enter_team_member")
    async def enter_team_member(self, record: TeamMemberRecord) -> bool:
        """Qualify the team member for WorldSkills and enter them (refusals published)."""
        person = record.member.person_key
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE competitions.squads SET team_member_key = $2 WHERE squad_id = $1",
                record.squad_id,
                person,
            )
            await conn.execute(
                """INSERT INTO competitions.qualifications
                     (competition_id, person_key, source, from_competition_id, from_rank,
                      category, holder_name_masked, employer, region, level_held, birth_year,
                      recorded_by, recorded_at)
                   SELECT $1, e.person_key, 'advanced', e.competition_id, 1, e.category,
                          e.holder_name_masked, e.employer, e.region, e.level_held,
                          e.birth_year, $4, $5
                   FROM competitions.entries e
                   WHERE e.competition_id = $2 AND e.person_key = $3
                   ON CONFLICT DO NOTHING""",
                record.worldskills_competition_id,
                record.selection_competition_id,
                person,
                f"squad-{record.squad_id}",
                record.occurred_at,
            )
            tier = await conn.fetchval(
                "SELECT tier FROM competitions.competitions WHERE competition_id = $1",
                record.selection_competition_id,
            )
            await enqueue(
                conn,
                competition_event(
                    CompetitorAdvanced(
                        competition_id=record.selection_competition_id,
                        tier=tier,
                        to_competition_id=record.worldskills_competition_id,
                        rank=1,
                    ),
                    f"{record.selection_competition_id}|{person}|squad",
                    record.occurred_at,
                    person,
                ),
            )
            qualification = await conn.fetchrow(
                """SELECT * FROM competitions.qualifications
                   WHERE competition_id = $1 AND person_key = $2""",
                record.worldskills_competition_id,
                person,
            )
            if await conn.fetchval(
                """SELECT true FROM competitions.entries
                   WHERE competition_id = $1 AND person_key = $2""",
                record.worldskills_competition_id,
                person,
            ):
                return True
            return bool(
                await enter_qualifier(
                    conn, record.worldskills_competition_id, qualification, record.occurred_at
                )
            )
