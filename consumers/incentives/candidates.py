"""What the incentive service remembers about candidates and bodies from the event stream:
the facts its subsidy and fraud rules need later, when the certificate arrives."""

from __future__ import annotations

from consumers.dispatch import PayloadHandler, PayloadHandlers
from consumers.incentives.subsidies import decide_claims_awaiting
from schemas.events import EventEnvelope
from schemas.payloads import (
    AssessmentFailed,
    AssessmentPassed,
    RegistrationExpired,
    RegistrationRejected,
    RegistrationSubmitted,
    ScoreCorrected,
)
from store.database import Connection


async def on_registration_submitted(
    conn: Connection, event: EventEnvelope, registration: RegistrationSubmitted
) -> None:
    await on_registrations_submitted(conn, [(event, registration)])


async def on_registrations_submitted(
    conn: Connection, registrations: list[tuple[EventEnvelope, RegistrationSubmitted]]
) -> None:
    """``on_registration_submitted`` for a run of registrations (an exam day's CSV import
    arrives as thousands): every row in one statement, which also says whose certificate
    came first and waited for its registration."""
    for event, _ in registrations:
        if event.person_key is None:
            raise ValueError(f"registration.submitted {event.event_id} has no person_key")
    waiting = await conn.fetch(
        """WITH submitted AS (SELECT * FROM unnest($1::incentives.registration_row[])),
           saved AS (
               INSERT INTO incentives.registrations
                 (application_id, person_key, session_id, body_id, occupation_code, level,
                  candidate_age, candidate_category, appraisal_fee_fen, first_appraisal,
                  submitted_at)
               SELECT application_id, person_key, session_id, body_id, occupation_code, level,
                      candidate_age, candidate_category, appraisal_fee_fen, first_appraisal,
                      submitted_at
               FROM submitted
               ON CONFLICT (application_id) DO NOTHING)
           SELECT c.application_id
           FROM submitted s
           JOIN incentives.certificates c
             ON c.application_id = s.application_id AND c.route = 'assessment'""",
        [
            (
                r.application_id,
                e.person_key,
                r.session_id,
                r.body_id,
                r.occupation_code,
                r.level,
                r.candidate_age,
                r.candidate_category,
                r.appraisal_fee_fen,
                r.first_appraisal,
                e.occurred_at,
            )
            for e, r in registrations
        ],
    )
    if waiting:
        waited = {row["application_id"] for row in waiting}
        for event, registration in registrations:
            if registration.application_id in waited:
                await decide_claims_awaiting(
                    conn, registration.application_id, event.correlation_id
                )


async def _conclude(conn: Connection, application_id: str, event: EventEnvelope, how: str) -> None:
    # The first conclusion wins: a later, redundant one must not move the end of the
    # registration (it decides whether two sessions overlapped).
    await conn.execute(
        """UPDATE incentives.registrations SET concluded_at = $2, conclusion = $3
           WHERE application_id = $1 AND concluded_at IS NULL""",
        application_id,
        event.occurred_at,
        how,
    )


def _concluding(how: str) -> PayloadHandler[RegistrationRejected | RegistrationExpired]:
    async def handle(
        conn: Connection, event: EventEnvelope, payload: RegistrationRejected | RegistrationExpired
    ) -> None:
        await _conclude(conn, payload.application_id, event, how)

    handle.__name__ = f"on_registration_{how}"
    return handle


async def on_assessment_outcome(
    conn: Connection, event: EventEnvelope, outcome: AssessmentPassed | AssessmentFailed
) -> None:
    passed = isinstance(outcome, AssessmentPassed)
    await conn.execute(
        """INSERT INTO incentives.assessment_outcomes
             (source_event_id, application_id, body_id, passed, occurred_at)
           VALUES ($1, $2, $3, $4, $5)""",
        event.event_id,
        outcome.application_id,
        outcome.body_id,
        passed,
        event.occurred_at,
    )
    if passed:
        await _conclude(conn, outcome.application_id, event, "passed")
    elif isinstance(outcome, AssessmentFailed) and outcome.resit_deadline is None:
        await _conclude(conn, outcome.application_id, event, "failed")


async def on_score_corrected(
    conn: Connection, event: EventEnvelope, correction: ScoreCorrected
) -> None:
    await conn.execute(
        """INSERT INTO incentives.score_edits
             (source_event_id, application_id, component, reason, occurred_at)
           VALUES ($1, $2, $3, $4, $5)""",
        event.event_id,
        correction.application_id,
        correction.component,
        correction.reason,
        event.occurred_at,
    )


def candidate_handlers(handlers: PayloadHandlers) -> PayloadHandlers:
    return (
        handlers.on(RegistrationSubmitted, on_registration_submitted)
        .in_batches(RegistrationSubmitted, on_registrations_submitted)
        .on(RegistrationRejected, _concluding("rejected"))
        .on(RegistrationExpired, _concluding("expired"))
        .on(AssessmentPassed, on_assessment_outcome)
        .on(AssessmentFailed, on_assessment_outcome)
        .on(ScoreCorrected, on_score_corrected)
    )
