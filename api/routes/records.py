"""The records service's query API: a worker's archive, certificate verification and
per-body statistics.

An archive is found by ID number only through ``POST /records/archives/lookup`` (the number
in the body, hashed at once, never logged or echoed), or by person key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.access import StatisticsReader, Supervisor
from api.services import Services
from policy import idnumber
from policy.calendar import china_date
from policy.certificate_number import parse_certificate_number
from policy.errors import NotFound
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
from store import records
from store.database import Connection

router = APIRouter(prefix="/records", tags=["records"])

PersonKeyPath = Annotated[str, Path(pattern=PERSON_KEY_PATTERN)]


async def _archive(conn: Connection, key: str) -> WorkerArchive:
    found = await records.archive(conn, key)
    timeline, certificates, titles = found["timeline"], found["certificates"], found["titles"]
    if not timeline and not certificates:
        raise NotFound("no archive for this worker")
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
    async with services.pool.acquire() as conn:
        row = await records.certificate(conn, certificate_number.strip())
    if row is None:
        raise NotFound(f"certificate {certificate_number.strip()} is not in the archive")
    return CertificateVerification(
        **{k: row[k] for k in CertificateVerification.model_fields if k != "status"},
        status="revoked" if row["revoked_on"] else "valid",
    )


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
    async with services.pool.acquire() as conn:
        rows = await records.body_statistics(conn, None, min_volume)
    return [_statistics(row) for row in rows]


@router.get("/bodies/{body_id}/statistics")
async def one_body_statistics(
    body_id: str, services: Services, _: StatisticsReader
) -> BodyStatistics:
    async with services.pool.acquire() as conn:
        rows = await records.body_statistics(conn, body_id, 0)
    if not rows:
        raise NotFound(f"no assessments or certificates recorded for body {body_id}")
    return _statistics(rows[0])
