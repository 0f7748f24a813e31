"""The electronic training archive: every event about a worker becomes a timeline entry.

Entries are only ever inserted (the tables refuse UPDATE and DELETE). Indexed columns
(occupation, level, certificate, body, application) are copied out of the payload so the
archive, the certificate lookup and the body statistics are plain index scans; the
payload itself is kept as the entry's details. Payloads never carry an ID number.
"""

from __future__ import annotations

from typing import Any, Final

from consumers.delivery import Handler
from schemas.events import EventEnvelope, parse_payload
from schemas.payloads import CertificateIssued, CertificateRevoked
from store.database import Connection

# event type -> timeline entry kind, for events that only add an entry.
TIMELINE_ENTRIES: Final[dict[str, str]] = {
    "registration.submitted": "registration_submitted",
    "registration.approved": "registration_approved",
    "registration.rejected": "registration_rejected",
    "registration.expired": "registration_expired",
    "assessment.passed": "assessment_passed",
    "assessment.failed": "assessment_failed",
    "assessment.score_corrected": "score_corrected",
    "certificate.withheld": "certificate_withheld",
    "competition.entry_accepted": "competition_entered",
    "competition.result_recorded": "competition_result",
    "competition.competitor_advanced": "competition_advanced",
    "title.awarded": "title_awarded",
    "promotion.granted": "promotion_granted",
    "subsidy.granted": "subsidy_granted",
    "subsidy.refused": "subsidy_refused",
    "subsidy.held": "subsidy_held",
    "subsidy.reviewed": "subsidy_reviewed",
    "subsidy.clawed_back": "subsidy_clawed_back",
    "reward.granted": "reward_granted",
    "title.eligible": "title_eligible",
}

BODY_EVENTS: Final[dict[str, str]] = {
    "body.filed": "filed",
    "body.approved": "approved",
    "body.rejected": "rejected",
    "body.suspended": "suspended",
    "body.reinstated": "reinstated",
    "body.revoked": "revoked",
}


class MissingPersonError(ValueError):
    """An event about a worker arrived without a person key: it cannot be archived."""


async def append_entry(
    conn: Connection,
    event: EventEnvelope,
    entry_kind: str,
    *,
    person_key: str | None = None,
) -> None:
    person_key = person_key or event.person_key
    if person_key is None:
        raise MissingPersonError(f"{event.event_type} {event.event_id} has no person_key")
    payload: dict[str, Any] = event.payload
    level = payload.get("level", payload.get("to_level"))
    await conn.execute(
        """INSERT INTO records.timeline
             (person_key, entry_kind, occurred_at, source_event_id, source_event_type,
              occupation_code, level, certificate_number, body_id, application_id, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        person_key,
        entry_kind,
        event.occurred_at,
        event.event_id,
        event.event_type,
        payload.get("occupation_code"),
        level,
        payload.get("certificate_number"),
        payload.get("body_id"),
        payload.get("application_id"),
        payload,
    )


def _timeline_handler(entry_kind: str) -> Handler:
    async def handle(conn: Connection, event: EventEnvelope) -> None:
        parse_payload(event)  # a malformed payload must not enter the archive
        await append_entry(conn, event, entry_kind)

    handle.__name__ = f"archive_{entry_kind}"
    return handle


async def archive_certificate_issued(conn: Connection, event: EventEnvelope) -> None:
    issued = parse_payload(event)
    assert isinstance(issued, CertificateIssued)
    if event.person_key is None:
        raise MissingPersonError(f"certificate.issued {event.event_id} has no person_key")
    # A re-issued number (a correction) keeps the first register row; the timeline keeps both.
    await conn.execute(
        """INSERT INTO records.certificates
             (certificate_number, person_key, body_id, body_type, occupation_code, level,
              issued_on, route, holder_name_masked, source_event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (certificate_number) DO NOTHING""",
        issued.certificate_number,
        event.person_key,
        issued.body_id,
        issued.body_type,
        issued.occupation_code,
        issued.level,
        issued.issued_on,
        issued.route,
        issued.holder_name_masked,
        event.event_id,
    )
    await append_entry(conn, event, "certificate_issued")


async def archive_certificate_revoked(conn: Connection, event: EventEnvelope) -> None:
    revoked = parse_payload(event)
    assert isinstance(revoked, CertificateRevoked)
    person_key = event.person_key or await conn.fetchval(
        "SELECT person_key FROM records.certificates WHERE certificate_number = $1",
        revoked.certificate_number,
    )
    await conn.execute(
        """INSERT INTO records.certificate_revocations
             (certificate_number, person_key, revoked_on, reason, source_event_id)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (certificate_number) DO NOTHING""",
        revoked.certificate_number,
        person_key,
        revoked.revoked_on,
        revoked.reason,
        event.event_id,
    )
    if person_key is not None:
        await append_entry(conn, event, "certificate_revoked", person_key=person_key)


def _body_handler(entry_kind: str) -> Handler:
    async def handle(conn: Connection, event: EventEnvelope) -> None:
        body = parse_payload(event)
        await conn.execute(
            """INSERT INTO records.body_history
                 (body_id, entry_kind, occurred_at, source_event_id, details)
               VALUES ($1, $2, $3, $4, $5)""",
            getattr(body, "body_id"),  # noqa: B009 - every body.* payload has one
            entry_kind,
            event.occurred_at,
            event.event_id,
            event.payload,
        )

    handle.__name__ = f"archive_body_{entry_kind}"
    return handle


def archive_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {
        event_type: _timeline_handler(kind) for event_type, kind in TIMELINE_ENTRIES.items()
    }
    handlers["certificate.issued"] = archive_certificate_issued
    handlers["certificate.revoked"] = archive_certificate_revoked
    handlers.update({t: _body_handler(kind) for t, kind in BODY_EVENTS.items()})
    return handlers
