"""Cash rewards for competition medals, from the reward table of the tier and edition."""

from __future__ import annotations

from consumers.incentives.ledger import emit
from policy.rewards import reward_for
from schemas.events import EventEnvelope
from schemas.payloads import CompetitionResultRecorded, RewardGranted
from store.database import Connection


async def on_competition_result(
    conn: Connection, event: EventEnvelope, result: CompetitionResultRecorded
) -> None:
    if event.person_key is None:
        raise ValueError(f"competition.result_recorded {event.event_id} has no person_key")
    reward = reward_for(result.tier, result.medal, result.competed_on)
    if reward is None:
        return
    # One reward per person and competition, whatever event announced the result.
    inserted = await conn.fetchval(
        """INSERT INTO incentives.rewards
             (person_key, competition_id, tier, medal, amount_fen, rule_version, competed_on)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (person_key, competition_id) DO NOTHING
           RETURNING true""",
        event.person_key,
        result.competition_id,
        result.tier,
        result.medal,
        reward.amount_fen,
        reward.rule_version,
        result.competed_on,
    )
    if inserted:
        await emit(
            conn,
            RewardGranted(
                competition_id=result.competition_id,
                medal=result.medal,
                amount_fen=reward.amount_fen,
                rule_version=reward.rule_version,
            ),
            business_key=f"{result.competition_id}|{event.person_key}",
            correlation_id=event.correlation_id,
            person_key=event.person_key,
        )
