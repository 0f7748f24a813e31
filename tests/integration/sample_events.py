"""Events as their producers would send them, made by tests whose subject is what reads them
(a consumer, the outbox, the relay, the dead letters) rather than what writes them."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime

from schemas.events import EventEnvelope, EventPayload, build_event
from schemas.payloads import CertificateIssued, RegistrationExpired

ELECTRICIAN = "6-31-01-03"


def envelope(
    payload: EventPayload,
    person_key: str | None,
    *,
    business_key: str | None = None,
    correlation_id: str | None = None,
    occurred_at: datetime | None = None,
) -> EventEnvelope:
    """``payload`` in its envelope from producer ``tests`` (a fresh business key and
    correlation id unless given)."""
    return build_event(
        payload,
        business_key=business_key or uuid.uuid4().hex,
        occurred_at=occurred_at or datetime.now(UTC),
        producer="tests",
        correlation_id=correlation_id or f"test-{uuid.uuid4().hex[:8]}",
        person_key=person_key,
    )


def certificate_number(level: int = 4, issued_on: date = date(2025, 1, 1)) -> str:
    """A fresh number of body S0001's form: its year and level, then a random serial."""
    random_site, serial = secrets.randbelow(10**6), secrets.randbelow(10**6)
    return f"S000121{random_site:06d}{issued_on.year % 100:02d}{level}{serial:06d}"


def certificate(
    *,
    level: int = 4,
    number: str | None = None,
    issued_on: date | None = None,
    application_id: str | None = None,
    body_id: str = "S0001",
    occupation_code: str = ELECTRICIAN,
    holder_name_masked: str = "孙*",
) -> CertificateIssued:
    """An electrician's certificate from assessment centre S0001 (a fresh number and
    application unless given)."""
    on = issued_on or date.today()
    return CertificateIssued(
        application_id=application_id or f"app-{uuid.uuid4().hex}",
        certificate_number=number or certificate_number(level, on),
        body_id=body_id,
        body_type="S",
        occupation_code=occupation_code,
        level=level,
        issued_on=on,
        holder_name_masked=holder_name_masked,
    )


def issued(certificate: CertificateIssued, person_key: str, correlation_id: str) -> EventEnvelope:
    """The certificate's ``certificate.issued``, keyed by its number as the outbox keys it."""
    return envelope(
        certificate,
        person_key,
        business_key=certificate.certificate_number,
        correlation_id=correlation_id,
    )


def expired(session_id: str, person_key: str | None = None, prefix: str = "app") -> EventEnvelope:
    """A fresh application's ``registration.expired``, keyed and correlated by the
    application as the workflow sends it (a random person unless given)."""
    application_id = f"{prefix}-{uuid.uuid4().hex}"
    return envelope(
        RegistrationExpired(application_id=application_id, session_id=session_id),
        person_key or uuid.uuid4().hex * 2,
        business_key=application_id,
        correlation_id=application_id,
    )
