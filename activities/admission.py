"""Admitting a candidate's registration, before any workflow exists: the first step of
the registration process, a synchronous transaction (a CSV import needs an answer per row
at speed). The registration route and the import activity call the same ``admit``.

The ID number arrives here and goes no further: it is validated, turned into the person
key, and dropped. Every check names its rule; a registration that breaks one writes
nothing. One that passes is inserted with its ``registration.submitted`` event in one
transaction, and only then is its ``ApplicationWorkflow`` started
(``activities.registration``, which also starts any a crash left unstarted).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from activities.registration import application_start
from policy.assessment import load_assessment_policy
from policy.catalogue import get_occupation
from policy.eligibility import CandidateHistory, Education, HeldCertificate, assert_eligible
from policy.errors import NotFound, RuleViolation, RuleViolations, violations_of
from policy.idnumber import age_on, mask_name, person_key, validate_id_number
from policy.rule_ids import Rule
from schemas.application import (
    OPEN_STAGES,
    ApplicationStart,
)
from schemas.events import build_event
from schemas.inputs import number_cell
from schemas.payloads import CandidateCategory, RegistrationSubmitted
from schemas.workflow_ids import application_workflow_id
from store.database import Connection
from store.outbox import enqueue
from store.sealed import KeyRing, holder_name_place

Relationship = Literal[
    "employee", "dispatched", "outsourced", "intern", "commissioned", "individual"
]
# 企业自主评价: an enterprise evaluates its own workforce; anyone else needs a commission.
ENTERPRISE_OWN_WORKFORCE = frozenset({"employee", "dispatched", "outsourced", "intern"})


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id_number: str = Field(min_length=1, max_length=32, description="never stored or logged")
    name: str = Field(min_length=1, max_length=50)
    employer: str = Field("", max_length=64, description="unified social credit code")
    former_employers: list[str] = Field(default_factory=list, max_length=20)
    relationship: Relationship = "individual"
    commission_id: str | None = Field(None, max_length=64)
    sub_level: str | None = Field(None, max_length=16)
    years_in_occupation: float = Field(strict=True, allow_inf_nan=False, ge=0, le=80)
    education: Education = "none"
    apprenticeship_completed: bool = False
    preparatory_technician_certificate_on: date | None = None
    category: CandidateCategory = "employed"
    appraisal_fee_fen: int = Field(0, strict=True, ge=0, le=100_000_000)


class Admitted(BaseModel):
    application_id: str
    stage: str
    new: bool


async def admit(
    conn: Connection,
    session_id: str,
    registration: Registration,
    secret: bytes,
    today: date,
    key_ring: KeyRing,
) -> tuple[Admitted, ApplicationStart | None]:
    """Check and record one registration in the caller's transaction. The name is kept
    sealed with ``key_ring`` (and masked, for lists): never in clear."""
    session = await conn.fetchrow(
        # Not s.*: the examiners (thousands in a large session) are no business of a
        # registration, and decoding them for every CSV row made an import quadratic.
        """SELECT s.session_id, s.body_id, s.occupation_code, s.level, s.status,
                  s.registration_closes_on, s.capacity, s.policy_version, s.pass_mark,
                  b.body_type, b.status AS body_status, b.scope, b.sub_levels
           FROM certification.sessions s JOIN certification.bodies b USING (body_id)
           WHERE s.session_id = $1 FOR UPDATE OF s""",
        session_id,
    )
    if session is None:
        raise NotFound("no session with this id")
    if session["status"] != "open":
        raise RuleViolation(
            "session_id", Rule.SESSION_NOT_OPEN, f"the session is {session['status']}"
        )
    if today > session["registration_closes_on"]:
        raise RuleViolation(
            "session_id", Rule.SESSION_REGISTRATION_CLOSED, "registration for this session closed"
        )
    policy = load_assessment_policy(session["policy_version"])
    facts = validate_id_number(
        registration.id_number, today=today, min_age=policy.min_candidate_age
    )
    key = person_key(registration.id_number, secret)
    occupation = get_occupation(session["occupation_code"])
    level = session["level"]
    _check_body(session, registration, level)
    if session["body_type"] == "Y":
        await _check_enterprise_candidate(conn, session, registration, today)

    application_id = f"{session_id}-{key[:12]}"
    start = application_start(
        {
            "application_id": application_id,
            "session_id": session_id,
            "body_id": session["body_id"],
            "body_type": session["body_type"],
            "occupation_code": occupation.code,
            "level": level,
            "person_key": key,
            "pass_mark": session["pass_mark"],
            "policy_version": session["policy_version"],
        }
    )
    open_application = await conn.fetchrow(
        """SELECT application_id, stage FROM certification.applications
           WHERE person_key = $1 AND occupation_code = $2 AND level = $3
             AND stage = ANY($4::text[])""",
        key,
        occupation.code,
        level,
        sorted(OPEN_STAGES),
    )
    if open_application is not None:
        if open_application["application_id"] == application_id:
            # The same registration again (a re-sent CSV): answer as before, start again.
            return Admitted(
                application_id=application_id, stage=open_application["stage"], new=False
            ), start
        raise RuleViolation(
            "id_number",
            Rule.REGISTRATION_DUPLICATE,
            f"this person already has an open application for {occupation.code} level "
            f"{level} ({open_application['application_id']})",
        )
    if await conn.fetchval(
        "SELECT 1 FROM certification.applications WHERE application_id = $1", application_id
    ):
        raise RuleViolation(
            "id_number",
            Rule.REGISTRATION_CLOSED_IN_SESSION,
            "this person's application in this session is closed; register in a later session",
        )

    # Issued here or imported from before SkillFlow: both count, from their real issue date.
    certificates = await conn.fetch(
        """SELECT occupation_code, level, issued_on FROM certification.held_certificates
           WHERE person_key = $1 AND status = 'valid'""",
        key,
    )
    history = CandidateHistory(
        occupation_code=occupation.code,
        years_in_occupation=registration.years_in_occupation,
        education=registration.education,
        apprenticeship_completed=registration.apprenticeship_completed,
        preparatory_technician_certificate_on=registration.preparatory_technician_certificate_on,
        certificates=[
            HeldCertificate(
                occupation_code=c["occupation_code"], level=c["level"], issued_on=c["issued_on"]
            )
            for c in certificates
        ],
    )
    decision = assert_eligible(level, history, today, occupation.eligibility_table)

    taken = await conn.fetchval(
        """SELECT count(*) FROM certification.applications
           WHERE session_id = $1 AND stage NOT IN ('rejected', 'expired')""",
        session_id,
    )
    if taken >= session["capacity"]:
        raise RuleViolation(
            "session_id",
            Rule.SESSION_CAPACITY_FULL,
            f"the session is full ({session['capacity']} places)",
        )

    now = await conn.fetchval("SELECT now()")
    try:
        await conn.execute(
            """INSERT INTO certification.applications
                   (application_id, session_id, body_id, occupation_code, level, person_key,
                    holder_name_sealed, holder_name_masked, employer, former_employers, relationship,
                    commission_id, sub_level, eligibility_path, stage, submitted_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                       'awaiting_review', $15, $15)""",
            application_id,
            session_id,
            session["body_id"],
            occupation.code,
            level,
            key,
            key_ring.seal_text(registration.name.strip(), holder_name_place(application_id)),
            mask_name(registration.name),
            registration.employer,
            registration.former_employers,
            registration.relationship,
            registration.commission_id,
            registration.sub_level,
            decision.path,
            now,
        )
    except asyncpg.UniqueViolationError:
        raise RuleViolation(
            "id_number",
            Rule.REGISTRATION_DUPLICATE,
            "this person already has an open application for this occupation and level",
        ) from None
    await enqueue(
        conn,
        build_event(
            RegistrationSubmitted(
                application_id=application_id,
                session_id=session_id,
                body_id=session["body_id"],
                occupation_code=occupation.code,
                level=level,
                candidate_age=age_on(facts.birth_date, today),
                candidate_category=registration.category,
                appraisal_fee_fen=registration.appraisal_fee_fen,
                first_appraisal=not certificates,
            ),
            business_key=application_id,
            occurred_at=now,
            producer="skillflow.application",
            correlation_id=application_workflow_id(application_id),
            person_key=key,
        ),
    )
    return Admitted(application_id=application_id, stage="awaiting_review", new=True), start


def _check_body(session: Any, registration: Registration, level: int) -> None:
    if session["body_status"] != "active":
        raise RuleViolation(
            "session_id",
            Rule.BODY_NOT_ACTIVE,
            f"the body's filing is {session['body_status']}: it takes no registrations",
        )
    if f"{session['occupation_code']}:{level}" not in session["scope"]:
        raise RuleViolation(
            "session_id", Rule.BODY_OUT_OF_SCOPE, "the session is outside the body's filed scope"
        )
    if registration.sub_level is not None:
        if session["body_type"] != "Y":
            raise RuleViolation(
                "sub_level",
                Rule.ENTERPRISE_SUB_LEVEL_ENTERPRISE_ONLY,
                "only an enterprise's self-evaluation has sub-levels",
            )
        mapped = {s["code"]: s["national_level"] for s in session["sub_levels"]}
        if mapped.get(registration.sub_level) != level:
            raise RuleViolation(
                "sub_level",
                Rule.ENTERPRISE_SUB_LEVEL_UNMAPPED,
                f"sub-level {registration.sub_level} is not filed under national level {level}",
            )


async def _check_enterprise_candidate(
    conn: Connection, session: Any, registration: Registration, today: date
) -> None:
    if registration.relationship in ENTERPRISE_OWN_WORKFORCE:
        return
    if registration.relationship == "commissioned" and registration.commission_id:
        valid_until = await conn.fetchval(
            """SELECT valid_until FROM certification.commissions
               WHERE body_id = $1 AND commission_id = $2""",
            session["body_id"],
            registration.commission_id,
        )
        if valid_until is None or valid_until < today:
            raise RuleViolation(
                "commission_id",
                Rule.ENTERPRISE_COMMISSION_MISSING,
                "no commission contract in force is recorded under this id",
            )
        return
    raise RuleViolation(
        "relationship",
        Rule.ENTERPRISE_NOT_OWN_WORKER,
        "an enterprise evaluates its employees, dispatched and outsourced workers and interns; "
        "others only under a recorded commission",
    )


# --- CSV ------------------------------------------------------------------------------


REGISTRATION_COLUMNS = {"id_number", "name", "years_in_occupation"}
# Cells read as numbers: the model takes numbers strictly (no "nan", no "true").
NUMBER_COLUMNS = {"years_in_occupation", "appraisal_fee_fen"}


def registration_from_row(row: dict[str, str]) -> Registration:
    values: dict[str, Any] = {k: v for k, v in row.items() if v != ""}
    for number in NUMBER_COLUMNS & values.keys():
        values[number] = number_cell(values[number])
    if "former_employers" in values:
        values["former_employers"] = [e for e in values["former_employers"].split(";") if e]
    if "apprenticeship_completed" in values:
        values["apprenticeship_completed"] = values["apprenticeship_completed"].lower() in (
            "1",
            "true",
            "yes",
            "y",
        )
    try:
        return Registration.model_validate(values)
    except ValidationError as exc:
        raise RuleViolations(violations_of(exc)) from None
