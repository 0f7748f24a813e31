"""The electronic training archive: every event about a worker becomes a timeline entry.

Entries are only ever inserted (the tables refuse UPDATE and DELETE). Indexed columns
(occupation, level, certificate, body, application) are copied out of the payload so the
archive, the certificate lookup and the body statistics are plain index scans; the
payload itself is kept as the entry's details. Payloads never carry an ID number.
"""

from __future__ import annotations

from typing import Any, Final

from consumers.dispatch import BatchPayloadHandler, PayloadHandler, PayloadHandlers
from schemas.events import EventEnvelope, EventPayload
from schemas.payloads import (
    AssessmentFailed,
    AssessmentPassed,
    BodyApproved,
    BodyEvent,
    BodyFiled,
    BodyReinstated,
    BodyRejected,
    BodyRevoked,
    BodySuspended,
    CertificateImported,
    CertificateIssued,
    CertificateRevoked,
    CertificateWithheld,
    CompetitionEntryAccepted,
    CompetitionResultRecorded,
    CompetitorAdvanced,
    PromotionGranted,
    RegistrationApproved,
    RegistrationExpired,
    RegistrationRejected,
    RegistrationSubmitted,
    RewardGranted,
    ScoreCorrected,
    SubsidyClawedBack,
    SubsidyGranted,
    SubsidyHeld,
    SubsidyRefused,
    SubsidyReviewed,
    TitleAwarded,
    TitleEligible,
)
from store.database import Connection

# payload -> timeline entry kind, for events that only add an entry.
TIMELINE_ENTRIES: Final[dict[type[EventPayload], str]] = {
    RegistrationSubmitted: "registration_submitted",
    RegistrationApproved: "registration_approved",
    RegistrationRejected: "registration_rejected",
    RegistrationExpired: "registration_expired",
    AssessmentPassed: "assessment_passed",
    AssessmentFailed: "assessment_failed",
    ScoreCorrected: "score_corrected",
    CertificateWithheld: "certificate_withheld",
    CompetitionEntryAccepted: "competition_entered",
    CompetitionResultRecorded: "competition_result",
    CompetitorAdvanced: "competition_advanced",
    TitleAwarded: "title_awarded",
    PromotionGranted: "promotion_granted",
    SubsidyGranted: "subsidy_granted",
    SubsidyRefused: "subsidy_refused",
    SubsidyHeld: "subsidy_held",
    SubsidyReviewed: "subsidy_reviewed",
    SubsidyClawedBack: "subsidy_clawed_back",
    RewardGranted: "reward_granted",
    TitleEligible: "title_eligible",
}

BODY_EVENTS: Final[dict[type[BodyEvent], str]] = {
    BodyFiled: "filed",
    BodyApproved: "approved",
    BodyRejected: "rejected",
    BodySuspended: "suspended",
    BodyReinstated: "reinstated",
    BodyRevoked: "revoked",
}


class MissingPersonError(ValueError):
    """An event about a worker arrived without a person key: it cannot be archived."""


_TIMELINE_INSERT: Final = """
INSERT INTO records.timeline
  (person_key, entry_kind, occurred_at, source_event_id, source_event_type,
   occupation_code, level, certificate_number, body_id, application_id, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
"""


def _timeline_row(
    event: EventEnvelope, entry_kind: str, person_key: str | None = None
) -> tuple[Any, ...]:
    person_key = person_key or event.person_key
    if person_key is None:
        raise MissingPersonError(f"{event.event_type} {event.event_id} has no person_key")
    payload: dict[str, Any] = event.payload
    return (
        person_key,
        entry_kind,
        event.occurred_at,
        event.event_id,
        event.event_type,
        payload.get("occupation_code"),
        payload.get("level", payload.get("to_level")),
        payload.get("certificate_number"),
        payload.get("body_id"),
        payload.get("application_id"),
        payload,
    )


async def append_entry(
    conn: Connection,
    event: EventEnvelope,
    entry_kind: str,
    *,
    person_key: str | None = None,
) -> None:
    await conn.execute(_TIMELINE_INSERT, *_timeline_row(event, entry_kind, person_key))


async def append_entries(
    conn: Connection, events: list[tuple[EventEnvelope, EventPayload]], entry_kind: str
) -> None:
    """``append_entry`` for a run of events of one kind, in one round trip."""
    await conn.executemany(
        _TIMELINE_INSERT, [_timeline_row(event, entry_kind) for event, _ in events]
    )


def _timeline_handler(entry_kind: str) -> PayloadHandler[EventPayload]:
    # The payload was validated by its class before: a malformed one never enters the archive.
    async def handle(conn: Connection, event: EventEnvelope, _: EventPayload) -> None:
        await append_entry(conn, event, entry_kind)

    handle.__name__ = f"archive_{entry_kind}"
    return handle


def _timeline_batch_handler(
    entry_kind: str,
) -> BatchPayloadHandler[EventPayload]:
    async def handle(conn: Connection, events: list[tuple[EventEnvelope, EventPayload]]) -> None:
        await append_entries(conn, events, entry_kind)

    return handle


async def archive_certificate_issued(
    conn: Connection, event: EventEnvelope, issued: CertificateIssued
) -> None:
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


async def archive_certificate_imported(
    conn: Connection, event: EventEnvelope, imported: CertificateImported
) -> None:
    if event.person_key is None:
        raise MissingPersonError(f"certificate.imported {event.event_id} has no person_key")
    # In the register like an issued certificate (title equivalence and verification read
    # it there), saying where it came from; the issuing body is a name, not a filed body.
    await conn.execute(
        """INSERT INTO records.certificates
             (certificate_number, person_key, body_id, body_type, occupation_code, level,
              issued_on, route, holder_name_masked, source_event_id, source, provenance)
           VALUES ($1, $2, $3, '', $4, $5, $6, 'imported', $7, $8, 'imported', $9)
           ON CONFLICT (certificate_number) DO NOTHING""",
        imported.certificate_number,
        event.person_key,
        imported.issuing_body,
        imported.occupation_code,
        imported.level,
        imported.issued_on,
        imported.holder_name_masked,
        event.event_id,
        {
            "issuing_body": imported.issuing_body,
            "checked_against": imported.checked_against,
            "checked_on": imported.checked_on.isoformat(),
            "imported_at": event.occurred_at.isoformat(),
        },
    )
    await append_entry(conn, event, "certificate_imported")


async def archive_certificate_revoked(
    conn: Connection, event: EventEnvelope, revoked: CertificateRevoked
) -> None:
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


def _body_handler(entry_kind: str) -> PayloadHandler[BodyEvent]:
    async def handle(conn: Connection, event: EventEnvelope, body: BodyEvent) -> None:
        await conn.execute(
            """INSERT INTO records.body_history
                 (body_id, entry_kind, occurred_at, source_event_id, details)
               VALUES ($1, $2, $3, $4, $5)""",
            body.body_id,
            entry_kind,
            event.occurred_at,
            event.event_id,
            event.payload,
        )

    handle.__name__ = f"archive_body_{entry_kind}"
    return handle


def archive_handlers() -> PayloadHandlers:
    handlers = PayloadHandlers()
    for payload, kind in TIMELINE_ENTRIES.items():
        handlers.on(payload, _timeline_handler(kind))
        handlers.in_batches(payload, _timeline_batch_handler(kind))
    handlers.on(CertificateIssued, archive_certificate_issued)
    handlers.on(CertificateRevoked, archive_certificate_revoked)
    handlers.on(CertificateImported, archive_certificate_imported)
    for body_event, kind in BODY_EVENTS.items():
        handlers.on(body_event, _body_handler(kind))
    return handlers
