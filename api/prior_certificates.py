"""Importing certificates from before SkillFlow (other years, provinces and systems).

The records officer has checked each one (against the national query, say) and imports it
with where and when it was checked. The ID number is hashed to the person key here and
goes no further. The certificate is written to ``certification.prior_certificates`` (which
``certification.held_certificates`` joins to the issued ones, so eligibility counts it)
with its ``certificate.imported`` event in one transaction: the records service files it
in the archive and the register (title equivalence reads it there), the incentive service
sees it for the lower-level rule but makes no claim on it.

A number already imported is unchanged when its facts are the same and refused when they
differ; a number SkillFlow issued itself is refused (it already counts).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from policy.catalogue import get_occupation
from policy.certificate_number import prior_certificate_number
from policy.errors import RuleViolation, RuleViolations, Violation, violations_of
from policy.idnumber import mask_name, person_key, validate_id_number
from policy.rule_ids import Rule
from schemas.events import build_event
from schemas.inputs import number_cell
from schemas.payloads import CertificateImported
from store import certification
from store.certification import PriorCertificateRow
from store.database import Connection
from store.outbox import enqueue

PRODUCER: Final = "skillflow.records"
PRIOR_CERTIFICATE_COLUMNS: Final = frozenset(
    {
        "certificate_number",
        "id_number",
        "occupation_code",
        "level",
        "issuing_body",
        "issued_on",
        "checked_against",
        "checked_on",
    }
)
# The facts that make two imports of one number the same certificate. Where and when it
# was checked may differ between two checks of the same certificate: the first is kept.
_SAME_CERTIFICATE: Final = ("person_key", "occupation_code", "level", "issuing_body", "issued_on")


class PriorCertificate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    certificate_number: str = Field(min_length=1, max_length=64, description="as written")
    id_number: str = Field(min_length=1, max_length=32, description="never stored or logged")
    holder_name: str = Field("", max_length=50, description="kept masked only")
    occupation_code: str = Field(min_length=1, max_length=32)
    level: int = Field(strict=True, ge=1, le=5)
    issuing_body: str = Field(min_length=1, max_length=200)
    issued_on: date
    checked_against: str = Field(
        min_length=1, max_length=200, examples=["全国联网查询 (national certificate query)"]
    )
    checked_on: date


class ImportedCertificate(BaseModel):
    certificate_number: str
    person_key: str
    new: bool


async def import_prior_certificate(
    conn: Connection, certificate: PriorCertificate, secret: bytes, today: date, imported_by: str
) -> ImportedCertificate:
    """Check and record one prior certificate in the caller's transaction."""
    number = prior_certificate_number(certificate.certificate_number)
    validate_id_number(certificate.id_number, today=today, min_age=0)
    key = person_key(certificate.id_number, secret)
    occupation = get_occupation(certificate.occupation_code.strip())
    if certificate.level not in occupation.levels:
        raise RuleViolation(
            "level",
            Rule.CATALOGUE_LEVEL_NOT_OFFERED,
            f"{occupation.code} has no level {certificate.level}",
        )
    if certificate.issued_on > today:
        raise RuleViolation("issued_on", Rule.IMPORT_FUTURE_DATE, "issued_on is in the future")
    if not certificate.issued_on <= certificate.checked_on <= today:
        raise RuleViolation(
            "checked_on",
            Rule.IMPORT_CHECKED_ON,
            "checked_on must fall between the issue date and today",
        )
    if await certification.issued_here(conn, number):
        raise RuleViolation(
            "certificate_number",
            Rule.IMPORT_ISSUED_HERE,
            "SkillFlow issued this certificate itself: it already counts",
        )
    facts: dict[str, Any] = {
        "person_key": key,
        "occupation_code": occupation.code,
        "level": certificate.level,
        "issuing_body": certificate.issuing_body.strip(),
        "issued_on": certificate.issued_on,
    }
    masked = mask_name(certificate.holder_name) if certificate.holder_name.strip() else ""
    imported_at = await certification.save_prior_certificate(
        conn,
        PriorCertificateRow(
            certificate_number=number,
            person_key=key,
            holder_name_masked=masked,
            occupation_code=occupation.code,
            level=certificate.level,
            issuing_body=facts["issuing_body"],
            issued_on=certificate.issued_on,
            checked_against=certificate.checked_against.strip(),
            checked_on=certificate.checked_on,
            imported_by=imported_by,
        ),
    )
    if imported_at is None:
        known = await certification.prior_certificate(conn, number)
        assert known is not None, "the insert conflicted on this number"
        differing = [name for name in _SAME_CERTIFICATE if known[name] != facts[name]]
        if differing:
            # Name the differing fields, never their values: one may be a person key.
            raise RuleViolation(
                "certificate_number",
                Rule.IMPORT_NUMBER_CONFLICT,
                f"this number was imported with a different {', '.join(differing)}",
            )
        return ImportedCertificate(certificate_number=number, person_key=key, new=False)
    await enqueue(
        conn,
        build_event(
            CertificateImported(
                certificate_number=number,
                occupation_code=occupation.code,
                level=certificate.level,
                issuing_body=facts["issuing_body"],
                issued_on=certificate.issued_on,
                holder_name_masked=masked,
                checked_against=certificate.checked_against.strip(),
                checked_on=certificate.checked_on,
            ),
            business_key=number,
            occurred_at=imported_at,
            producer=PRODUCER,
            correlation_id=f"import-{number}",
            person_key=key,
        ),
    )
    return ImportedCertificate(certificate_number=number, person_key=key, new=True)


# --- CSV ------------------------------------------------------------------------------


class PriorRowReport(BaseModel):
    row: int = Field(description="1-based data row, the header not counted")
    status: Literal["imported", "unchanged", "rejected"]
    certificate_number: str | None = None
    person_key: str | None = None
    errors: list[Violation] = Field(default_factory=list)


def prior_certificate_from_row(row: dict[str, str]) -> PriorCertificate:
    values: dict[str, Any] = {
        k: v for k, v in row.items() if v != "" and k in PriorCertificate.model_fields
    }
    if "level" in values:
        values["level"] = number_cell(values["level"])
    try:
        return PriorCertificate.model_validate(values)
    except ValidationError as exc:
        raise RuleViolations(violations_of(exc)) from None
