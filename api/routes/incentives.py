"""The incentive service's API: the insurance and training-subsidy records its rules read,
claims and the review of held payments.

Insurance records arrive by JSON or CSV (``id_number,insured_months,as_of``). Each row is
checked on its own and reported by row number; a bad row applies nothing, and with
``all_or_nothing=true`` one bad row applies nothing at all. ID numbers are hashed at once
and never stored, logged or echoed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final, Generic, Literal, TypeVar

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.access import Caller, RecordsOfficer, Regulator, Supervisor
from api.csv_import import CSV_REQUEST_BODY, CsvFile, CsvRow, read_csv
from api.paging import Limit
from api.services import Services
from api.views import PromotionView, RewardView
from consumers.incentives.ledger import (
    lock_certificate_claims,
    review_held_claim,
    withdraw_claims,
)
from consumers.incentives.subsidies import reconsider_claim
from policy import idnumber
from policy.calendar import china_date
from policy.certificate_number import parse_certificate_number
from policy.errors import RuleViolation
from policy.rule_ids import Rule
from policy.subsidy import COMBINED_WITH_TRAINING
from schemas.events import PERSON_KEY_PATTERN
from schemas.inputs import IsoDateTime, Reason, RequestBody, number_cell
from store import incentives
from store.database import Connection

router = APIRouter(prefix="/incentives", tags=["incentives"])


RowT = TypeVar("RowT")
RecordT = TypeVar("RecordT", bound=BaseModel)
MAX_INSURED_MONTHS: Final = 12 * 60
MAX_TRAINING_SUBSIDY_FEN: Final = 100_000_000


def _today() -> date:
    return china_date(datetime.now(UTC))


# --- row checking, shared by JSON and CSV ----------------------------------------------------


class RowReport(BaseModel):
    row: int = Field(description="1-based; for CSV the header is row 0")
    status: Literal["applied", "rejected", "not_applied"]
    errors: list[dict[str, str]] = Field(default_factory=list)


class ImportReport(BaseModel):
    applied: int
    rejected: int
    rows: list[RowReport]


def _int(value: str, field: str, low: int, high: int) -> int:
    number = number_cell(value.strip())
    if not isinstance(number, int):
        raise RuleViolation(field, Rule.IMPORT_INTEGER, f"{field} must be a whole number")
    if not low <= number <= high:
        raise RuleViolation(field, Rule.IMPORT_RANGE, f"{field} must be {low}-{high}")
    return number


def _date(value: str, field: str, *, not_after: date) -> date:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise RuleViolation(
            field, Rule.IMPORT_DATE, f"{field} must be a date, YYYY-MM-DD"
        ) from None
    if day > not_after:
        raise RuleViolation(field, Rule.IMPORT_FUTURE_DATE, f"{field} is in the future")
    return day


@dataclass(frozen=True)
class InsuranceRow:
    person_key: str
    insured_months: int
    as_of: date


@dataclass(frozen=True)
class TrainingSubsidyRow:
    certificate_number: str
    amount_fen: int
    granted_on: date


def _insurance_row(raw: Mapping[str, str], secret: bytes) -> InsuranceRow:
    today = _today()
    id_number = raw.get("id_number", "")
    idnumber.validate_id_number(id_number, today=today, min_age=0)
    return InsuranceRow(
        person_key=idnumber.person_key(id_number, secret),
        insured_months=_int(raw.get("insured_months", ""), "insured_months", 0, MAX_INSURED_MONTHS),
        as_of=_date(raw.get("as_of", ""), "as_of", not_after=today),
    )


def _training_row(raw: Mapping[str, str]) -> TrainingSubsidyRow:
    number = raw.get("certificate_number", "").strip()
    parse_certificate_number(number)
    return TrainingSubsidyRow(
        certificate_number=number,
        amount_fen=_int(raw.get("amount_fen", ""), "amount_fen", 1, MAX_TRAINING_SUBSIDY_FEN),
        granted_on=_date(raw.get("granted_on", ""), "granted_on", not_after=_today()),
    )


def _check_rows(
    raws: Sequence[CsvRow], check: Callable[[Mapping[str, str]], RowT]
) -> tuple[list[tuple[int, RowT]], list[RowReport]]:
    good: list[tuple[int, RowT]] = []
    bad: list[RowReport] = []
    for raw in raws:
        number = raw.number
        if raw.error is not None:
            bad.append(RowReport(row=number, status="rejected", errors=[raw.error.model_dump()]))
            continue
        try:
            good.append((number, check(raw.cells)))
        except RuleViolation as exc:
            bad.append(
                RowReport(row=number, status="rejected", errors=[exc.as_violation().model_dump()])
            )
    return good, bad


def _report(applied: list[int], rejected: list[RowReport], not_applied: list[int]) -> ImportReport:
    rows = (
        [RowReport(row=n, status="applied") for n in applied]
        + rejected
        + [RowReport(row=n, status="not_applied") for n in not_applied]
    )
    rows.sort(key=lambda r: r.row)
    return ImportReport(applied=len(applied), rejected=len(rejected), rows=rows)


async def _apply(
    services: Services,
    good: list[tuple[int, RowT]],
    bad: list[RowReport],
    all_or_nothing: bool,
    save: Callable[[Connection, list[RowT]], Awaitable[None]],
) -> ImportReport:
    """Save the good rows in one transaction, unless a bad one stops all of them."""
    if bad and all_or_nothing:
        return _report([], bad, [n for n, _ in good])
    if good:
        async with services.pool.acquire() as conn, conn.transaction():
            await save(conn, [row for _, row in good])
    return _report([n for n, _ in good], bad, [])


def _json_rows(records: Sequence[BaseModel]) -> list[CsvRow]:
    """JSON records numbered and written out like CSV rows, so both take one path."""
    return [
        CsvRow(number=n, cells={k: str(v) for k, v in r.model_dump(mode="json").items()})
        for n, r in enumerate(records, start=1)
    ]


# --- insurance records -----------------------------------------------------------------------


class InsuranceRecordIn(RequestBody):
    id_number: str = Field(max_length=32)
    insured_months: int = Field(strict=True, ge=0, le=MAX_INSURED_MONTHS)
    as_of: date


class RecordsIn(BaseModel, Generic[RecordT]):
    """Records sent as JSON: each is checked and reported like a CSV row."""

    model_config = ConfigDict(extra="forbid")

    records: list[RecordT] = Field(min_length=1, max_length=10_000)


async def _apply_insurance(
    services: Services,
    caller: Caller,
    raws: Sequence[CsvRow],
    source: str,
    all_or_nothing: bool,
) -> ImportReport:
    secret = services.settings.person_key_secret_bytes
    good, bad = _check_rows(raws, lambda raw: _insurance_row(raw, secret))

    async def save(conn: Connection, rows: list[InsuranceRow]) -> None:
        await incentives.save_insurance_records(
            conn, [(r.person_key, r.as_of, r.insured_months) for r in rows], source, caller.name
        )

    return await _apply(services, good, bad, all_or_nothing, save)


@router.post("/insurance-records")
async def load_insurance_records(
    body: RecordsIn[InsuranceRecordIn],
    services: Services,
    caller: RecordsOfficer,
    all_or_nothing: bool = False,
) -> ImportReport:
    """Unemployment-insurance months per worker as of a date (the latest snapshot on or
    before the claim date counts)."""
    rows = _json_rows(body.records)
    return await _apply_insurance(services, caller, rows, "api", all_or_nothing)


@router.post("/insurance-records/import", openapi_extra=CSV_REQUEST_BODY)
async def import_insurance_records(
    services: Services,
    caller: RecordsOfficer,
    csv_text: CsvFile,
    all_or_nothing: bool = False,
) -> ImportReport:
    """CSV with the header ``id_number,insured_months,as_of``."""
    rows = read_csv(csv_text, ("id_number", "insured_months", "as_of"))
    return await _apply_insurance(services, caller, rows, "csv", all_or_nothing)


# --- training subsidies ----------------------------------------------------------------------


class TrainingSubsidyIn(RequestBody):
    certificate_number: str = Field(max_length=32)
    amount_fen: int = Field(strict=True, ge=1, le=MAX_TRAINING_SUBSIDY_FEN)
    granted_on: date


async def _known_certificates(
    services: Services, rows: list[tuple[int, TrainingSubsidyRow]]
) -> tuple[list[tuple[int, TrainingSubsidyRow]], list[RowReport]]:
    """A training subsidy is paid on a certificate that exists: in the issuing register,
    or already known to this service (its certificate.issued event may be ahead of a
    register this service does not own)."""
    async with services.pool.acquire() as conn:
        known = await incentives.known_certificates(conn, {r.certificate_number for _, r in rows})
    unknown = [
        RowReport(
            row=n,
            status="rejected",
            errors=[
                {
                    "field": "certificate_number",
                    "rule": Rule.TRAINING_SUBSIDY_UNKNOWN_CERTIFICATE,
                    "message": "no certificate with this number has been issued",
                }
            ],
        )
        for n, r in rows
        if r.certificate_number not in known
    ]
    return [(n, r) for n, r in rows if r.certificate_number in known], unknown


async def _apply_training(
    services: Services,
    caller: Caller,
    raws: Sequence[CsvRow],
    source: str,
    all_or_nothing: bool,
) -> ImportReport:
    good, bad = _check_rows(raws, _training_row)
    good, unknown = await _known_certificates(services, good)
    bad = sorted(bad + unknown, key=lambda r: r.row)

    async def save(conn: Connection, rows: list[TrainingSubsidyRow]) -> None:
        await lock_certificate_claims(conn, [r.certificate_number for r in rows])
        await incentives.save_training_subsidies(
            conn,
            [(r.certificate_number, r.amount_fen, r.granted_on) for r in rows],
            source,
            caller.name,
        )
        # The two subsidies are never combined on one certificate: a skill-upgrading
        # subsidy decided before the training subsidy was known is taken back.
        for r in rows:
            await withdraw_claims(
                conn,
                r.certificate_number,
                kinds=("skill_upgrade",),
                rule=COMBINED_WITH_TRAINING,
                clawback_reason="a training subsidy was paid on the same certificate",
                held_reason="a training subsidy was paid on the same certificate",
            )

    return await _apply(services, good, bad, all_or_nothing, save)


@router.post("/training-subsidies")
async def load_training_subsidies(
    body: RecordsIn[TrainingSubsidyIn],
    services: Services,
    caller: RecordsOfficer,
    all_or_nothing: bool = False,
) -> ImportReport:
    """Training subsidies paid on a certificate: a skill-upgrading subsidy is then refused."""
    rows = _json_rows(body.records)
    return await _apply_training(services, caller, rows, "api", all_or_nothing)


@router.post("/training-subsidies/import", openapi_extra=CSV_REQUEST_BODY)
async def import_training_subsidies(
    services: Services,
    caller: RecordsOfficer,
    csv_text: CsvFile,
    all_or_nothing: bool = False,
) -> ImportReport:
    """CSV with the header ``certificate_number,amount_fen,granted_on``."""
    rows = read_csv(csv_text, ("certificate_number", "amount_fen", "granted_on"))
    return await _apply_training(services, caller, rows, "csv", all_or_nothing)


# --- claims and review -----------------------------------------------------------------------

ClaimStatus = Literal["granted", "refused", "held", "rejected", "clawed_back"]


class Claim(BaseModel):
    claim_id: str
    kind: str
    person_key: str
    certificate_number: str
    occupation_code: str
    level: int
    claimed_on: date
    status: ClaimStatus
    amount_fen: int
    paid_fen: int = Field(
        description="what the ledger holds for this claim: paid minus clawed back"
    )
    rule: str | None
    reason: str
    rule_version: str
    signals: list[str]
    decided_at: datetime
    reviewed_by: str | None
    review_reason: str | None
    reviewed_at: datetime | None


def _claim(row: Any) -> Claim:
    return Claim(**{k: row[k] for k in Claim.model_fields})


@router.get("/claims")
async def list_claims(
    services: Services,
    _: Supervisor,
    status: ClaimStatus | None = None,
    person_key: Annotated[str | None, Query(pattern=PERSON_KEY_PATTERN)] = None,
    decided_since: Annotated[
        IsoDateTime | None,
        Query(description="only claims decided at or after this time (ISO 8601)"),
    ] = None,
    limit: Limit = 100,
) -> list[Claim]:
    """Claims, oldest decision first; ``status=held`` is the review queue."""
    async with services.pool.acquire() as conn:
        rows = await incentives.claims(
            conn, status=status, person_key=person_key, decided_since=decided_since, limit=limit
        )
    return [_claim(row) for row in rows]


@router.get("/claims/{claim_id}")
async def get_claim(claim_id: str, services: Services, _: Supervisor) -> Claim:
    return _claim(await services.found(incentives.claim, claim_id, "no claim with this id"))


class ReviewIn(RequestBody):
    reason: Annotated[Reason, Field(min_length=3)]


ClaimIdPath = Annotated[str, Path(max_length=64)]


async def _reviewed(
    services: Services, claim_id: str, review: Callable[[Connection], Awaitable[object]]
) -> Claim:
    """The claim as ``review`` left it, in the review's transaction."""
    async with services.pool.acquire() as conn, conn.transaction():
        await review(conn)
        row = await incentives.claim(conn, claim_id)
    assert row is not None  # the review refuses an unknown claim
    return _claim(row)


def _held_review(
    claim_id: str, release: bool, caller: Caller, body: ReviewIn
) -> Callable[[Connection], Awaitable[object]]:
    def review(conn: Connection) -> Awaitable[object]:
        return review_held_claim(
            conn, claim_id, release=release, reviewer=caller.name, reason=body.reason
        )

    return review


@router.post("/claims/{claim_id}/release")
async def release_claim(
    claim_id: ClaimIdPath, body: ReviewIn, services: Services, caller: Regulator
) -> Claim:
    """Pay a held claim after review: emits subsidy.reviewed and subsidy.granted."""
    return await _reviewed(services, claim_id, _held_review(claim_id, True, caller, body))


@router.post("/claims/{claim_id}/reject")
async def reject_claim(
    claim_id: ClaimIdPath, body: ReviewIn, services: Services, caller: Regulator
) -> Claim:
    """Refuse a held claim after review: emits subsidy.reviewed and subsidy.refused."""
    return await _reviewed(services, claim_id, _held_review(claim_id, False, caller, body))


@router.post("/claims/{claim_id}/reconsideration")
async def reconsider(
    claim_id: ClaimIdPath, body: ReviewIn, services: Services, caller: Regulator
) -> Claim:
    """Decide again a skill-upgrading claim refused for too few insured months, once the
    insurance records are loaded: granted (or held) with its event, or still refused with
    the rule (422) and nothing changed. The claim date, and so its window, stay."""
    return await _reviewed(
        services,
        claim_id,
        lambda conn: reconsider_claim(conn, claim_id, reviewer=caller.name, reason=body.reason),
    )


class PersonIncentives(BaseModel):
    person_key: str
    paid_fen: int = Field(description="subsidies paid minus clawed back")
    rewards_fen: int
    claims: list[Claim]
    rewards: list[RewardView]
    promotions: list[PromotionView]


@router.get("/people/{person_key}")
async def person_incentives(
    person_key: Annotated[str, Path(pattern=PERSON_KEY_PATTERN)], services: Services, _: Supervisor
) -> PersonIncentives:
    async with services.pool.acquire() as conn:
        found = await incentives.person_incentives(conn, person_key)
    return PersonIncentives(
        person_key=person_key,
        paid_fen=sum(row["paid_fen"] for row in found["claims"]),
        rewards_fen=sum(row["amount_fen"] for row in found["rewards"]),
        claims=[_claim(row) for row in found["claims"]],
        rewards=[RewardView(**row) for row in found["rewards"]],
        promotions=[PromotionView(**row) for row in found["promotions"]],
    )
