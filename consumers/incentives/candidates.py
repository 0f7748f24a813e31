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
    if event.person_key is None:
        raise ValueError(f"registration.submitted {event.event_id} has no person_key")
    # One round trip: the row, and whether its certificate came first (another topic) and
    # waited for it to decide the subsidies.
    certificate_waiting = await conn.fetchval(
        """WITH saved AS (
               INSERT INTO incentives.registrations
                 (application_id, person_key, session_id, body_id, occupation_code, level,
                  candidate_age, candidate_category, appraisal_fee_fen, first_appraisal,
                  submitted_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
               ON CONFLICT (application_id) DO NOTHING)
           SELECT EXISTS (SELECT 1 FROM incentives.certificates
                          WHERE application_id = $1 AND route = 'assessment')""",
        registration.application_id,
        event.person_key,
        registration.session_id,
        registration.body_id,
        registration.occupation_code,
        registration.level,
        registration.candidate_age,
        registration.candidate_category,
        registration.appraisal_fee_fen,
        registration.first_appraisal,
        event.occurred_at,
    )
    if certificate_waiting:
        await decide_claims_awaiting(conn, registration.application_id, event.correlation_id)


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
        .on(RegistrationRejected, _concluding("rejected"))
        .on(RegistrationExpired, _concluding("expired"))
        .on(AssessmentPassed, on_assessment_outcome)
        .on(AssessmentFailed, on_assessment_outcome)
        .on(ScoreCorrected, on_score_corrected)
    )
