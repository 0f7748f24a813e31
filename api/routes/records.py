"""The records service's query API: a worker's archive, certificate verification and
per-body statistics.

An archive is found by ID number only through ``POST /records/archives/lookup`` (the number
in the body, hashed at once, never logged or echoed), or by person key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query

from api.access import StatisticsReader, Supervisor
from api.services import Services
from policy import idnumber
from policy.calendar import china_date
from policy.certificate_number import parse_certificate_number
from policy.fraud import BodyRecord, abnormal_pass_rate, fraud_policy
from schemas.archive import (
    ArchivedCertificate,
    ArchivedTitle,
    ArchiveEntry,
    BodyStatistics,
    CertificateVerification,
    IdNumberQuery,
    WorkerArchive,
)
from schemas.events import PERSON_KEY_PATTERN
from store.database import Connection

router = APIRouter(prefix="/records", tags=["records"])

PersonKeyPath = Annotated[str, Path(pattern=PERSON_KEY_PATTERN)]

_CERTIFICATES_SQL: Final = """
SELECT c.*, v.revoked_on, v.reason AS revocation_reason
FROM records.certificates c
LEFT JOIN records.certificate_revocations v USING (certificate_number)
"""


async def _archive(conn: Connection, key: str) -> WorkerArchive:
    timeline = await conn.fetch(
        # By when it happened: events on different topics may be applied in either order.
        "SELECT * FROM records.timeline WHERE person_key = $1 ORDER BY occurred_at, entry_id",
        key,
    )
    certificates = await conn.fetch(
        _CERTIFICATES_SQL + " WHERE c.person_key = $1 ORDER BY c.issued_on, c.certificate_number",
        key,
    )
    titles = await conn.fetch(
        "SELECT * FROM records.title_eligibilities WHERE person_key = $1 ORDER BY held_since, title",
        key,
    )
    if not timeline and not certificates:
        raise LookupError("no archive for this worker")
    return WorkerArchive(
        person_key=key,
        certificates=[
            ArchivedCertificate(
                **{
                    k: row[k]
                    for k in ArchivedCertificate.model_fields
                    if k in row and k != "status"
                },
                status="revoked" if row["revoked_on"] else "valid",
            )
            for row in certificates
        ],
        titles=[ArchivedTitle(**{k: row[k] for k in ArchivedTitle.model_fields}) for row in titles],
        timeline=[
            ArchiveEntry(
                **{k: row[k] for k in ArchiveEntry.model_fields if k != "source_event_id"},
                source_event_id=str(row["source_event_id"]),
            )
            for row in timeline
        ],
    )


@router.post("/archives/lookup")
async def lookup_archive(query: IdNumberQuery, services: Services, _: Supervisor) -> WorkerArchive:
    """A worker's archive by ID number: validated, hashed with the person-key secret, looked up."""
    idnumber.validate_id_number(query.id_number, today=china_date(datetime.now(UTC)), min_age=0)
    key = idnumber.person_key(query.id_number, services.settings.person_key_secret_bytes)
    async with services.pool.acquire() as conn:
        return await _archive(conn, key)


@router.get("/archives/{person_key}")
async def archive_by_person_key(
    person_key: PersonKeyPath, services: Services, _: Supervisor
) -> WorkerArchive:
    async with services.pool.acquire() as conn:
        return await _archive(conn, person_key)


@router.get("/certificates/{certificate_number}")
async def verify_certificate(
    certificate_number: str, services: Services
) -> CertificateVerification:
    """Anyone may verify a certificate number; the answer names no person."""
    parse_certificate_number(certificate_number)
    row = await services.pool.fetchrow(
        _CERTIFICATES_SQL + " WHERE c.certificate_number = $1", certificate_number.strip()
    )
    if row is None:
        raise LookupError(f"certificate {certificate_number.strip()} is not in the archive")
    return CertificateVerification(
        **{k: row[k] for k in CertificateVerification.model_fields if k != "status"},
        status="revoked" if row["revoked_on"] else "valid",
    )


_BODY_STATISTICS_SQL: Final = """
WITH outcomes AS (
    SELECT body_id,
           count(*) AS assessed,
           count(*) FILTER (WHERE entry_kind = 'assessment_passed') AS passed
    FROM records.timeline
    WHERE entry_kind IN ('assessment_passed', 'assessment_failed')
      AND ($1::text IS NULL OR body_id = $1)
    GROUP BY body_id
), issued AS (
    SELECT body_id, count(*) AS certificates_issued FROM records.certificates
    WHERE ($1::text IS NULL OR body_id = $1) GROUP BY body_id
), status AS (
    SELECT DISTINCT ON (body_id) body_id, entry_kind AS status FROM records.body_history
    WHERE ($1::text IS NULL OR body_id = $1) ORDER BY body_id, entry_id DESC
)
SELECT body_id,
       coalesce(o.assessed, 0) AS assessed,
       coalesce(o.passed, 0) AS passed,
       coalesce(i.certificates_issued, 0) AS certificates_issued,
       s.status
FROM outcomes o FULL JOIN issued i USING (body_id) FULL JOIN status s USING (body_id)
WHERE coalesce(o.assessed, 0) >= $2
ORDER BY body_id
"""


def _statistics(row: Any) -> BodyStatistics:
    record = BodyRecord(passed=row["passed"], assessed=row["assessed"])
    return BodyStatistics(
        body_id=str(row["body_id"]),
        assessed=record.assessed,
        passed=record.passed,
        pass_rate=round(record.pass_rate, 4),
        abnormal_pass_rate=abnormal_pass_rate(record, fraud_policy()),
        certificates_issued=row["certificates_issued"],
        status=row["status"],
    )


@router.get("/bodies/statistics")
async def body_statistics(
    services: Services,
    _: StatisticsReader,
    min_volume: Annotated[int, Query(ge=0)] = 0,
) -> list[BodyStatistics]:
    """Pass rate and volume per evaluation body: what the abnormal-pass-rate signal reads."""
    rows = await services.pool.fetch(_BODY_STATISTICS_SQL, None, min_volume)
    return [_statistics(row) for row in rows]


@router.get("/bodies/{body_id}/statistics")
async def one_body_statistics(
    body_id: str, services: Services, _: StatisticsReader
) -> BodyStatistics:
    row = await services.pool.fetchrow(_BODY_STATISTICS_SQL, body_id, 0)
    if row is None:
        raise LookupError(f"no assessments or certificates recorded for body {body_id}")
    return _statistics(row)
