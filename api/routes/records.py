"""The records service's query API: a worker's archive, certificate verification and
per-body statistics.

An archive is found by ID number only through ``POST /records/archives/lookup`` (the number
in the body, hashed at once, never logged or echoed), or by person key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import Field

from api.access import RecordsOfficer, StatisticsReader, Supervisor
from api.csv_import import CSV_REQUEST_BODY, CsvFile, CsvRow, read_csv
from api.errors import RATE_LIMITED_RESPONSES
from api.paging import MinVolume
from api.prior_certificates import (
    PRIOR_CERTIFICATE_COLUMNS,
    PriorCertificate,
    PriorRowReport,
    import_prior_certificate,
    prior_certificate_from_row,
)
from api.rate_limit import AnonymousCall
from api.services import Services
from api.verification import HolderName, HolderQuery, holder_name_matches, holder_name_on_record
from api.views import ArchiveExport
from policy import idnumber
from policy.calendar import china_date
from policy.certificate_number import parse_certificate_number
from policy.errors import NotFound, RuleViolation, RuleViolations, as_violations
from policy.fraud import BodyRecord, abnormal_pass_rate, fraud_policy
from printing.transcript import transcript_pdf
from schemas.archive import (
    ArchivedCertificate,
    ArchivedTitle,
    ArchiveEntry,
    BodyStatistics,
    CertificateHolderVerification,
    CertificateVerification,
    IdNumberQuery,
    WorkerArchive,
)
from schemas.events import PERSON_KEY_PATTERN
from schemas.inputs import RequestBody
from store import holders, records
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


@router.get("/archives/{person_key}/export.json")
async def export_archive(
    person_key: PersonKeyPath, services: Services, caller: RecordsOfficer, response: Response
) -> ArchiveExport:
    """The whole archive as a JSON file for the records officer to hand over."""
    async with services.pool.acquire() as conn:
        archive = await _archive(conn, person_key)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="archive-{person_key[:12]}.json"'
    )
    return ArchiveExport(exported_at=datetime.now(UTC), exported_by=caller.name, archive=archive)


@router.get(
    "/archives/{person_key}/transcript.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
async def archive_transcript(
    person_key: PersonKeyPath, services: Services, caller: RecordsOfficer
) -> Response:
    """The archive as a PDF transcript: certificates, titles, then every entry in order
    (corrections and revocations are later entries)."""
    async with services.pool.acquire() as conn:
        archive = await _archive(conn, person_key)
        # Imported certificates alone carry at most a masked name.
        name = await holders.holder_name(
            conn, services.settings.key_ring, person_key=person_key
        ) or next(
            (n for n in await records.masked_names(conn, person_key) if n),
            "（未登记姓名 no name on record）",
        )
    pdf = transcript_pdf(archive, name, caller.name, datetime.now(UTC))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="archive-{person_key[:12]}.pdf"'},
    )


async def _archived_certificate(conn: Connection, certificate_number: str) -> dict[str, Any]:
    number = certificate_number.strip()
    row = await records.certificate(conn, number)
    # Imported certificates keep their number as written, older forms included.
    if row is None or row["source"] != "imported":
        parse_certificate_number(number)
    if row is None:
        raise NotFound(f"certificate {number} is not in the archive")
    return row


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "certificate_number": row["certificate_number"],
        "status": "revoked" if row["revoked_on"] else "valid",
        "occupation_code": row["occupation_code"],
        "level": row["level"],
        "imported": row["source"] == "imported",
    }


@router.get(
    "/certificates/{certificate_number}",
    dependencies=[AnonymousCall],
    responses=RATE_LIMITED_RESPONSES,
)
async def verify_certificate(
    certificate_number: str, services: Services
) -> CertificateVerification:
    """Anyone may verify a certificate number: valid or revoked, occupation and level, and
    whether it was imported from before SkillFlow. The holder's details (and where an
    imported one was checked) need their name too (``POST .../verification``)."""
    async with services.pool.acquire() as conn:
        row = await _archived_certificate(conn, certificate_number)
    return CertificateVerification(**_public(row))


@router.post(
    "/certificates/{certificate_number}/verification",
    dependencies=[AnonymousCall],
    responses=RATE_LIMITED_RESPONSES,
)
async def verify_certificate_holder(
    certificate_number: str, query: HolderQuery, services: Services
) -> CertificateHolderVerification:
    """A certificate number and the holder's name: the archive's details when the name is
    the holder's, otherwise only what the number tells."""
    async with services.pool.acquire() as conn:
        row = await _archived_certificate(conn, certificate_number)
        on_record = await holder_name_on_record(
            conn, services.settings.key_ring, row["certificate_number"]
        )
    if on_record is None:
        # Archived from an event (an imported or promoted certificate): its masked name.
        on_record = HolderName(masked=row["holder_name_masked"])
    if not holder_name_matches(query.holder_name, on_record):
        return CertificateHolderVerification(**_public(row), holder_name_matches=False)
    return CertificateHolderVerification(
        **_public(row),
        holder_name_matches=True,
        holder_name_masked=row["holder_name_masked"],
        issued_on=row["issued_on"],
        body_id=row["body_id"],
        body_type=row["body_type"],
        revoked_on=row["revoked_on"],
        provenance=row["provenance"],
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
    min_volume: MinVolume = 0,
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


# --- certificates from before SkillFlow ---------------------------------------------------


class PriorCertificatesIn(RequestBody):
    certificates: list[PriorCertificate] = Field(min_length=1, max_length=10_000)


async def _import_prior(
    services: Services, caller_name: str, rows: Sequence[CsvRow | PriorCertificate]
) -> list[PriorRowReport]:
    reports: list[PriorRowReport] = []
    secret = services.settings.person_key_secret_bytes
    on = china_date(datetime.now(UTC))
    async with services.pool.acquire() as conn:
        for number, row in enumerate(rows, start=1):
            if isinstance(row, CsvRow) and row.error is not None:
                reports.append(
                    PriorRowReport(row=row.number, status="rejected", errors=[row.error])
                )
                continue
            try:
                certificate = (
                    row
                    if isinstance(row, PriorCertificate)
                    else prior_certificate_from_row(row.cells)
                )
                # Each row its own transaction: a refused row writes nothing.
                async with conn.transaction():
                    imported = await import_prior_certificate(
                        conn, certificate, secret, on, caller_name
                    )
            except (RuleViolation, RuleViolations) as exc:
                reports.append(
                    PriorRowReport(row=number, status="rejected", errors=as_violations(exc))
                )
                continue
            reports.append(
                PriorRowReport(
                    row=number,
                    status="imported" if imported.new else "unchanged",
                    certificate_number=imported.certificate_number,
                    person_key=imported.person_key,
                )
            )
    return reports


@router.post("/prior-certificates")
async def import_prior_certificates(
    body: PriorCertificatesIn, services: Services, caller: RecordsOfficer
) -> list[PriorRowReport]:
    """Certificates a worker earned before SkillFlow, checked by the records officer: they
    count in eligibility, the lower-level subsidy rule, title equivalence and the archive,
    and never earn a subsidy claim here. One report per certificate, in order."""
    return await _import_prior(services, caller.name, body.certificates)


@router.post("/prior-certificates.csv", openapi_extra=CSV_REQUEST_BODY)
async def import_prior_certificates_csv(
    services: Services,
    caller: RecordsOfficer,
    csv_text: CsvFile,
) -> list[PriorRowReport]:
    """CSV with the header certificate_number,id_number,occupation_code,level,issuing_body,
    issued_on,checked_against,checked_on (and optionally holder_name). Each row is its own
    transaction, reported by row number."""
    rows = read_csv(csv_text, set(PRIOR_CERTIFICATE_COLUMNS))
    return await _import_prior(services, caller.name, rows)
