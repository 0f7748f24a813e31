"""Issuing and revoking certificates.

A certificate number is allocated in the transaction that inserts the certificate, keyed
by the application (or promotion) that earned it: a retried activity finds the number it
already allocated, and a failed transaction rolls the counter back, so no number is ever
burnt or handed out twice.
"""

from __future__ import annotations

from temporalio import activity

from activities.resources import ActivityResources
from policy.calendar import china_date
from policy.certificate_number import CertificateNumberParts, format_certificate_number
from policy.errors import NotFound
from schemas.certificate import (
    IssueRequest,
    IssueResult,
    RevocationRecord,
    RevocationResult,
    WithholdingRecord,
)
from schemas.events import build_event
from schemas.payloads import CertificateIssued, CertificateRevoked, CertificateWithheld
from store.outbox import enqueue

PRODUCER = "skillflow.certificate"


class CertificateActivities:
    def __init__(self, resources: ActivityResources) -> None:
        self._pool = resources.pool

    @activity.defn(name="certification.issue_certificate")
    async def issue_certificate(self, request: IssueRequest) -> IssueResult:
        async with self._pool.acquire() as conn, conn.transaction():
            existing = await conn.fetchrow(
                """SELECT certificate_number, issued_on FROM certification.certificates
                   WHERE source_id = $1""",
                request.source_id,
            )
            if existing is not None:
                return IssueResult(
                    status="issued",
                    certificate_number=existing["certificate_number"],
                    issued_on=existing["issued_on"],
                )
            # FOR SHARE: a suspension committed after this check waits for the issuance.
            body = await conn.fetchrow(
                """SELECT body_type, body_code, province_code, site_serial, status, scope
                   FROM certification.bodies WHERE body_id = $1 FOR SHARE""",
                request.body_id,
            )
            if body is None or body["status"] in ("revoked", "rejected"):
                return IssueResult(
                    status="body_revoked", reason="the body's filing is revoked or unknown"
                )
            if body["status"] != "active":
                return IssueResult(
                    status="body_inactive",
                    reason=f"the body's filing is {body['status']}: issuance waits",
                )
            if f"{request.occupation_code}:{request.level}" not in body["scope"]:
                return IssueResult(
                    status="out_of_scope",
                    reason=f"the body is not filed for {request.occupation_code} "
                    f"level {request.level}",
                )
            masked = request.holder_name_masked
            if masked is None:
                masked = await conn.fetchval(
                    """SELECT holder_name_masked FROM certification.applications
                       WHERE application_id = $1""",
                    request.source_id,
                )
                if masked is None:
                    raise NotFound(f"application {request.source_id} is not recorded")
            issued_on = china_date(request.issued_at)
            prefix = (
                f"{body['body_type']}{body['body_code']}{body['province_code']}"
                f"{body['site_serial']}"
            )
            serial = await conn.fetchval(
                """INSERT INTO certification.serial_counters
                       (number_prefix, issue_year, last_serial)
                   VALUES ($1, $2, 1)
                   ON CONFLICT (number_prefix, issue_year)
                   DO UPDATE SET last_serial = certification.serial_counters.last_serial + 1
                   RETURNING last_serial""",
                prefix,
                issued_on.year,
            )
            number = format_certificate_number(
                CertificateNumberParts(
                    body_type=body["body_type"],
                    body_code=body["body_code"],
                    province_code=body["province_code"],
                    site_serial=body["site_serial"],
                    issue_year_yy=issued_on.year % 100,
                    level=request.level,
                    serial=serial,
                )
            )
            await conn.execute(
                """INSERT INTO certification.certificates
                       (certificate_number, source_id, route, body_id, body_type, person_key,
                        holder_name_masked, occupation_code, level, issued_on, status)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'valid')""",
                number,
                request.source_id,
                request.route,
                request.body_id,
                body["body_type"],
                request.person_key,
                masked,
                request.occupation_code,
                request.level,
                issued_on,
            )
            if request.route == "assessment":
                await conn.execute(
                    """UPDATE certification.applications
                       SET stage = 'issued', certificate_number = $2, updated_at = $3
                       WHERE application_id = $1""",
                    request.source_id,
                    number,
                    request.issued_at,
                )
            await enqueue(
                conn,
                build_event(
                    CertificateIssued(
                        application_id=request.source_id,
                        certificate_number=number,
                        body_id=request.body_id,
                        body_type=body["body_type"],
                        occupation_code=request.occupation_code,
                        level=request.level,
                        issued_on=issued_on,
                        holder_name_masked=masked,
                        route=request.route,
                    ),
                    business_key=request.source_id,
                    occurred_at=request.issued_at,
                    producer=PRODUCER,
                    correlation_id=request.correlation_id,
                    person_key=request.person_key,
                ),
            )
        return IssueResult(status="issued", certificate_number=number, issued_on=issued_on)

    @activity.defn(name="certification.record_withholding")
    async def record_withholding(self, record: WithholdingRecord) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await enqueue(
                conn,
                build_event(
                    CertificateWithheld(application_id=record.source_id, rule=record.rule),
                    business_key=record.source_id,
                    occurred_at=record.occurred_at,
                    producer=PRODUCER,
                    correlation_id=record.correlation_id,
                    person_key=record.person_key,
                ),
            )

    @activity.defn(name="certification.revoke_certificate")
    async def revoke_certificate(self, record: RevocationRecord) -> RevocationResult:
        number = record.request.certificate_number
        revoked_on = china_date(record.occurred_at)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                """SELECT person_key, status, revoked_on, revoked_reason
                   FROM certification.certificates
                   WHERE certificate_number = $1 FOR UPDATE""",
                number,
            )
            if row is None:
                return RevocationResult(status="unknown")
            if row["status"] == "revoked":
                # The same revocation again (a retried activity, a resubmitted request)
                # changes nothing; any other is refused rather than rewriting the reason.
                same = (row["revoked_on"], row["revoked_reason"]) == (
                    revoked_on,
                    record.request.reason,
                )
                return RevocationResult(
                    status="revoked" if same else "already_revoked", revoked_on=row["revoked_on"]
                )
            await conn.execute(
                """UPDATE certification.certificates
                   SET status = 'revoked', revoked_reason = $2, revoked_on = $3
                   WHERE certificate_number = $1""",
                number,
                record.request.reason,
                revoked_on,
            )
            await enqueue(
                conn,
                build_event(
                    # The reason is free text: it stays in revoked_reason above.
                    CertificateRevoked(certificate_number=number, revoked_on=revoked_on),
                    business_key=number,
                    occurred_at=record.occurred_at,
                    producer=PRODUCER,
                    correlation_id=record.correlation_id,
                    person_key=row["person_key"],
                ),
            )
        return RevocationResult(status="revoked", revoked_on=revoked_on)
