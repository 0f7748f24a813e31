"""The incentive handlers on the real PostgreSQL: every subsidy rule as the service applies it.

Each test runs the handlers in one transaction that is rolled back, so nothing reaches the
outbox relay and the tests cannot see each other.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from consumers.incentives.consumer import incentives_consumer
from consumers.incentives.ledger import review_held_claim
from consumers.incentives.subsidies import reconsider_claim
from policy.errors import RuleViolation
from policy.rule_ids import Rule
from schemas import payloads
from schemas.events import EventEnvelope, EventPayload
from schemas.payloads import (
    AssessmentPassed,
    CertificateIssued,
    CertificateRevoked,
    CompetitionResultRecorded,
    PromotionGranted,
    RegistrationSubmitted,
    ScoreCorrected,
)
from schemas.workflow_ids import promotion_workflow_id
from tests.integration.sample_events import certificate_number, envelope

pytestmark = pytest.mark.integration

FITTER = "6-20-01-01"  # no shortage uplift
WELDER = "6-18-02-04"  # shortage, +30 %
COOK = "4-03-02-01"
ELECTRICIAN = "6-31-01-03"  # shortage, +20 %
TODAY = datetime.now(UTC)


def new_person() -> str:
    return secrets.token_hex(32)


def event(
    payload: EventPayload, person: str | None, occurred_at: datetime = TODAY
) -> EventEnvelope:
    return envelope(payload, person, occurred_at=occurred_at)


class Incentives:
    """The incentive handlers bound to one connection inside a rolled-back transaction."""

    def __init__(self, conn: Any, consumer: Any) -> None:
        self.conn = conn
        self.handlers = consumer.handlers
        self.batch_handlers = consumer.batch_handlers
        self.sittings = 0

    async def apply(self, envelope: EventEnvelope) -> None:
        await self.handlers[envelope.event_type](self.conn, envelope)

    async def insured(self, person: str, months: int, as_of: date | None = None) -> None:
        await self.conn.execute(
            """INSERT INTO incentives.insurance_records (person_key, as_of, insured_months, source, loaded_by)
               VALUES ($1, $2, $3, 'api', 'tests')""",
            person,
            as_of or TODAY.date() - timedelta(days=1),
            months,
        )

    async def claim_rule(self, kind: str, number: str) -> Any:
        """The rule that refused the claim of ``kind`` on certificate ``number`` (or None)."""
        return (await self.claim(kind, number))["rule"]

    async def insured_person(self, months: int = 24) -> str:
        """A new person with ``months`` of unemployment insurance as of yesterday."""
        person = new_person()
        await self.insured(person, months)
        return person

    async def register(self, person: str, **changes: Any) -> str:
        application_id = changes.pop("application_id", f"app-{uuid.uuid4().hex}")
        payload: dict[str, Any] = {
            "application_id": application_id,
            "session_id": f"session-{uuid.uuid4().hex[:8]}",
            "body_id": f"body-{uuid.uuid4().hex[:8]}",
            "occupation_code": FITTER,
            "level": 4,
            "candidate_age": 35,
            "candidate_category": "employed",
            "appraisal_fee_fen": 0,
            "first_appraisal": True,
        } | changes
        occurred_at = payload.pop("occurred_at", TODAY - timedelta(days=60))
        await self.apply(event(RegistrationSubmitted(**payload), person, occurred_at))
        return application_id

    async def certify(
        self,
        person: str,
        *,
        level: int = 4,
        occupation: str = FITTER,
        application_id: str | None = None,
        body_id: str = "body-any",
        issued_on: date | None = None,
        occurred_at: datetime = TODAY,
        number: str | None = None,
        route: str = "assessment",
    ) -> str:
        issued_on = issued_on or occurred_at.date()
        number = number or certificate_number(level, issued_on)
        if route == "assessment" and application_id is None:
            # An assessed certificate's claims wait for its registration: register (a
            # sitting already over, so it overlaps no other) unless the test did.
            self.sittings += 1
            application_id = await self.register(
                person,
                occupation_code=occupation,
                level=level,
                body_id=body_id,
                occurred_at=TODAY - timedelta(days=60, minutes=-self.sittings),
            )
            await self.conn.execute(
                """UPDATE incentives.registrations
                   SET concluded_at = submitted_at + interval '1 second', conclusion = 'passed'
                   WHERE application_id = $1""",
                application_id,
            )
        await self.apply(
            event(
                CertificateIssued(
                    application_id=application_id or f"app-{uuid.uuid4().hex}",
                    certificate_number=number,
                    body_id=body_id,
                    body_type="S",
                    occupation_code=occupation,
                    level=level,
                    issued_on=issued_on,
                    holder_name_masked="张*",
                    route=route,  # type: ignore[arg-type]
                ),
                person,
                occurred_at,
            )
        )
        return number

    async def revoke(self, person: str, number: str) -> None:
        await self.apply(
            event(
                CertificateRevoked(
                    certificate_number=number, reason="altered scores", revoked_on=TODAY.date()
                ),
                person,
            )
        )

    async def claim(self, kind: str, number: str) -> Any:
        return await self.conn.fetchrow(
            """SELECT c.*, coalesce((SELECT sum(amount_fen) FROM incentives.payments p
                                     WHERE p.claim_id = c.claim_id), 0) AS paid
               FROM incentives.claims c WHERE claim_id = $1""",
            f"{kind}:{number}",
        )

    async def outbox(self, person: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            """SELECT envelope FROM outbox.events
               WHERE envelope->>'person_key' = $1 ORDER BY seq""",
            person,
        )
        return [row["envelope"] for row in rows]


@pytest.fixture
async def incentives(stack: Any) -> AsyncIterator[Incentives]:
    consumer = incentives_consumer(stack.settings, stack.temporal)
    async with stack.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            yield Incentives(conn, consumer)
        finally:
            await transaction.rollback()


async def test_grant_pays_the_level_cap_and_emits_the_rule_version(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    number = await incentives.certify(person, level=4)
    claim = await incentives.claim("skill_upgrade", number)
    assert (claim["status"], claim["amount_fen"], claim["paid"]) == ("granted", 150_000, 150_000)
    [granted] = [
        e
        for e in await incentives.outbox(person)
        if e["event_type"] == payloads.SubsidyGranted.event_type
    ]
    assert granted["payload"]["amount_fen"] == 150_000
    assert granted["payload"]["rule_version"] == "skill-upgrade-2024"
    assert granted["producer"] == "skillflow.incentives" and granted["person_key"] == person


async def test_a_certificate_before_its_registration_is_decided_by_the_run_that_brings_it(
    incentives: Incentives,
) -> None:
    """The registration batch handler looks up, in its one statement, which certificates
    came first and waited: only that one is decided, under its registration's correlation."""
    person, other = new_person(), new_person()
    await incentives.insured(person, 24)
    application = f"app-{uuid.uuid4().hex}"
    number = await incentives.certify(person, application_id=application)
    assert await incentives.claim("skill_upgrade", number) is None  # waits for its registration

    def registration(application_id: str, worker: str) -> EventEnvelope:
        submitted = RegistrationSubmitted(
            application_id=application_id,
            session_id=f"session-{uuid.uuid4().hex[:8]}",
            body_id="body-any",
            occupation_code=FITTER,
            level=4,
            candidate_age=35,
        )
        return event(submitted, worker, TODAY - timedelta(days=60))

    run = [registration(f"app-{uuid.uuid4().hex}", other), registration(application, person)]
    await incentives.batch_handlers[RegistrationSubmitted.event_type](incentives.conn, run)
    claim = await incentives.claim("skill_upgrade", number)
    assert (claim["status"], claim["paid"]) == ("granted", 150_000)
    [granted] = [
        e
        for e in await incentives.outbox(person)
        if e["event_type"] == payloads.SubsidyGranted.event_type
    ]
    assert granted["correlation_id"] == run[1].correlation_id
    assert await incentives.outbox(other) == []


async def test_shortage_uplift_from_the_catalogue(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    number = await incentives.certify(person, level=3, occupation=WELDER)
    assert (await incentives.claim("skill_upgrade", number))["amount_fen"] == 260_000


async def test_insured_months_from_the_insurance_records(incentives: Incentives) -> None:
    person = await incentives.insured_person(11)
    number = await incentives.certify(person)
    claim = await incentives.claim("skill_upgrade", number)
    assert (claim["status"], claim["rule"], claim["paid"]) == (
        "refused",
        Rule.SUBSIDY_INSURED_MONTHS,
        0,
    )
    [refused] = [
        e
        for e in await incentives.outbox(person)
        if e["event_type"] == payloads.SubsidyRefused.event_type
        and e["payload"]["kind"] == "skill_upgrade"
    ]
    assert refused["payload"]["rule"] == Rule.SUBSIDY_INSURED_MONTHS


async def test_insurance_snapshot_after_the_claim_does_not_count(incentives: Incentives) -> None:
    person = new_person()
    await incentives.insured(person, 5, TODAY.date() - timedelta(days=30))
    await incentives.insured(person, 30, TODAY.date() + timedelta(days=30))
    number = await incentives.certify(person)
    assert await incentives.claim_rule("skill_upgrade", number) == Rule.SUBSIDY_INSURED_MONTHS


async def test_older_policy_needs_36_months(incentives: Incentives) -> None:
    person = new_person()
    occurred = datetime(2018, 7, 1, tzinfo=UTC)
    await incentives.insured(person, 24, date(2018, 6, 1))
    number = await incentives.certify(person, issued_on=date(2018, 6, 20), occurred_at=occurred)
    claim = await incentives.claim("skill_upgrade", number)
    assert (claim["rule"], claim["rule_version"]) == (
        Rule.SUBSIDY_INSURED_MONTHS,
        "skill-upgrade-2017",
    )


async def test_claim_window(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    late = await incentives.certify(person, issued_on=TODAY.date() - timedelta(days=400))
    assert await incentives.claim_rule("skill_upgrade", late) == Rule.SUBSIDY_CLAIM_WINDOW


async def test_at_most_three_a_year(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    for occupation in (FITTER, WELDER, COOK):
        number = await incentives.certify(person, level=5, occupation=occupation)
        assert (await incentives.claim("skill_upgrade", number))["status"] == "granted"
    fourth = await incentives.certify(person, level=5, occupation=ELECTRICIAN)
    assert await incentives.claim_rule("skill_upgrade", fourth) == Rule.SUBSIDY_ANNUAL_LIMIT


async def test_once_per_person_occupation_and_level(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    await incentives.certify(person, level=4)
    again = await incentives.certify(person, level=4)
    assert (
        await incentives.claim_rule("skill_upgrade", again)
        == Rule.SUBSIDY_ONCE_PER_OCCUPATION_LEVEL
    )


async def test_no_lower_level_after_a_higher_one(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    await incentives.certify(person, level=3)
    lower = await incentives.certify(person, level=4)
    assert await incentives.claim_rule("skill_upgrade", lower) == Rule.SUBSIDY_LOWER_AFTER_HIGHER


async def test_not_combined_with_a_training_subsidy(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    number = certificate_number(4, TODAY.date())
    await incentives.conn.execute(
        """INSERT INTO incentives.training_subsidies (certificate_number, amount_fen, granted_on, source, loaded_by)
           VALUES ($1, 80000, $2, 'api', 'tests')""",
        number,
        TODAY.date(),
    )
    await incentives.certify(person, number=number)
    assert (
        await incentives.claim_rule("skill_upgrade", number)
        == Rule.SUBSIDY_COMBINED_WITH_TRAINING_SUBSIDY
    )


async def test_reissued_certificate_is_not_a_second_claim(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    number = await incentives.certify(person)
    await incentives.certify(person, number=number)  # another event id, same certificate
    granted = [
        e
        for e in await incentives.outbox(person)
        if e["event_type"] == payloads.SubsidyGranted.event_type
    ]
    assert len(granted) == 1
    assert (await incentives.claim("skill_upgrade", number))["paid"] == 150_000


async def test_revocation_after_payment_claws_back(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    number = await incentives.certify(person, level=3, occupation=ELECTRICIAN)
    await incentives.revoke(person, number)
    claim = await incentives.claim("skill_upgrade", number)
    assert (claim["status"], claim["paid"]) == ("clawed_back", 0)
    [clawed] = [
        e
        for e in await incentives.outbox(person)
        if e["event_type"] == payloads.SubsidyClawedBack.event_type
    ]
    assert clawed["payload"]["amount_fen"] == 240_000
    await incentives.revoke(person, number)  # a second revocation event claws back nothing more
    assert (await incentives.claim("skill_upgrade", number))["paid"] == 0


async def test_revocation_before_the_certificate_refuses_it(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    number = certificate_number(4, TODAY.date())
    await incentives.revoke(person, number)
    await incentives.certify(person, number=number)
    claim = await incentives.claim("skill_upgrade", number)
    assert (claim["status"], claim["rule"], claim["paid"]) == (
        "refused",
        Rule.SUBSIDY_CERTIFICATE_REVOKED,
        0,
    )


async def test_retiree_is_held_then_released_by_a_reviewer(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    application = await incentives.register(person, candidate_category="retired", candidate_age=63)
    number = await incentives.certify(person, application_id=application)
    claim = await incentives.claim("skill_upgrade", number)
    assert claim["status"] == "held" and claim["paid"] == 0
    assert claim["signals"] == [Rule.FRAUD_PHANTOM_TRAINEE, Rule.FRAUD_RETIREMENT_AGE]
    await review_held_claim(
        incentives.conn,
        claim["claim_id"],
        release=True,
        reviewer="regulator",
        reason="verified on site",
    )
    claim = await incentives.claim("skill_upgrade", number)
    assert (claim["status"], claim["paid"]) == ("granted", 150_000)
    kinds = [e["event_type"] for e in await incentives.outbox(person)]
    assert kinds.count(payloads.SubsidyHeld.event_type) == 1 and kinds[-2:] == [
        payloads.SubsidyReviewed.event_type,
        payloads.SubsidyGranted.event_type,
    ]
    with pytest.raises(RuleViolation) as error:
        await review_held_claim(
            incentives.conn, claim["claim_id"], release=True, reviewer="r", reason="again"
        )
    assert error.value.rule == Rule.REVIEW_NOT_HELD


async def test_rejected_hold_pays_nothing(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    application = await incentives.register(
        person, candidate_category="full_time_student", candidate_age=19
    )
    number = await incentives.certify(person, application_id=application)
    await review_held_claim(
        incentives.conn,
        f"skill_upgrade:{number}",
        release=False,
        reviewer="regulator",
        reason="not a worker",
    )
    claim = await incentives.claim("skill_upgrade", number)
    assert (claim["status"], claim["rule"], claim["paid"]) == ("rejected", Rule.REVIEW_REJECTED, 0)


async def test_revocation_while_held_refuses(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    application = await incentives.register(person, candidate_category="retired")
    number = await incentives.certify(person, application_id=application)
    await incentives.revoke(person, number)
    claim = await incentives.claim("skill_upgrade", number)
    assert (claim["status"], claim["rule"], claim["paid"]) == (
        "refused",
        Rule.SUBSIDY_CERTIFICATE_REVOKED,
        0,
    )


async def test_same_id_in_two_sessions_at_once_is_held(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    application = await incentives.register(person, occurred_at=TODAY - timedelta(days=60))
    await incentives.register(person, occurred_at=TODAY - timedelta(days=50))  # still open
    number = await incentives.certify(person, application_id=application)
    assert (await incentives.claim("skill_upgrade", number))["signals"] == [
        Rule.FRAUD_CONCURRENT_SESSIONS
    ]


async def test_sessions_one_after_another_are_not_held(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    body = f"body-{uuid.uuid4().hex[:8]}"
    first = await incentives.register(
        person, level=5, body_id=body, occurred_at=TODAY - timedelta(days=400)
    )
    await incentives.apply(
        event(
            AssessmentPassed(
                application_id=first,
                session_id="s",
                body_id=body,
                occupation_code=FITTER,
                level=5,
                scores={"theory": 80, "practical": 80},
                passed_on=TODAY.date() - timedelta(days=380),
            ),
            person,
            TODAY - timedelta(days=380),
        )
    )
    second = await incentives.register(person, level=4, occurred_at=TODAY - timedelta(days=60))
    number = await incentives.certify(person, level=4, application_id=second)
    assert (await incentives.claim("skill_upgrade", number))["status"] == "granted"


async def test_score_edit_after_sign_off_is_held(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    application = await incentives.register(person)
    await incentives.apply(
        event(
            ScoreCorrected(
                application_id=application,
                session_id="s",
                component="practical",
                previous_score=55,
                new_score=65,
                reason="recount",
                corrected_by="examiner-1",
            ),
            person,
        )
    )
    number = await incentives.certify(person, application_id=application)
    assert (await incentives.claim("skill_upgrade", number))["signals"] == [
        Rule.FRAUD_SCORE_EDITED_AFTER_SIGN_OFF
    ]


async def test_body_with_abnormal_pass_rate_is_held(incentives: Incentives) -> None:
    body = f"body-{uuid.uuid4().hex[:8]}"
    for _ in range(30):
        await incentives.apply(
            event(
                AssessmentPassed(
                    application_id=f"app-{uuid.uuid4().hex}",
                    session_id="s",
                    body_id=body,
                    occupation_code=FITTER,
                    level=4,
                    scores={"theory": 99, "practical": 99},
                    passed_on=TODAY.date(),
                ),
                new_person(),
            )
        )
    person = await incentives.insured_person()
    application = await incentives.register(person, body_id=body)
    number = await incentives.certify(person, application_id=application, body_id=body)
    assert (await incentives.claim("skill_upgrade", number))["signals"] == [
        Rule.FRAUD_ABNORMAL_PASS_RATE
    ]


async def test_appraisal_subsidy_for_an_eligible_group(incentives: Incentives) -> None:
    person = new_person()
    application = await incentives.register(
        person, candidate_category="migrant_worker", appraisal_fee_fen=50_000
    )
    number = await incentives.certify(person, application_id=application, occupation=FITTER)
    claim = await incentives.claim("appraisal", number)
    assert (claim["status"], claim["amount_fen"], claim["rule_version"]) == (
        "granted",
        35_000,
        "appraisal-2024",
    )
    # No insurance: the skill-upgrading subsidy is refused on its own rule, independently.
    assert await incentives.claim_rule("skill_upgrade", number) == Rule.SUBSIDY_INSURED_MONTHS


async def test_appraisal_key_industry_rate_and_first_appraisal_only(incentives: Incentives) -> None:
    person = new_person()
    first = await incentives.register(
        person, candidate_category="registered_unemployed", appraisal_fee_fen=50_000, level=5
    )
    number = await incentives.certify(person, level=5, application_id=first, occupation=WELDER)
    assert (await incentives.claim("appraisal", number))["amount_fen"] == 45_000
    second = await incentives.register(
        person, candidate_category="registered_unemployed", appraisal_fee_fen=50_000
    )
    again = await incentives.certify(person, level=4, application_id=second, occupation=WELDER)
    assert await incentives.claim_rule("appraisal", again) == Rule.APPRAISAL_FIRST_APPRAISAL_ONLY


async def test_appraisal_refused_outside_eligible_groups(incentives: Incentives) -> None:
    person = new_person()
    application = await incentives.register(
        person, candidate_category="employed", appraisal_fee_fen=50_000
    )
    number = await incentives.certify(person, application_id=application)
    assert await incentives.claim_rule("appraisal", number) == Rule.APPRAISAL_INELIGIBLE_GROUP


async def test_promotion_certificate_goes_through_the_same_rules(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    number = await incentives.certify(person, level=2, occupation=ELECTRICIAN, route="promotion")
    assert (await incentives.claim("skill_upgrade", number))["amount_fen"] == 300_000
    assert await incentives.claim("appraisal", number) is None


async def test_worldskills_gold_reward_once(incentives: Incentives) -> None:
    person = new_person()
    result = CompetitionResultRecorded(
        competition_id=f"worldskills-{uuid.uuid4().hex[:6]}",
        tier="worldskills",
        occupation_code=WELDER,
        rank=1,
        field_size=40,
        medal="gold",
        score=780,
        competed_on=date(2017, 10, 17),
    )
    await incentives.apply(event(result, person))
    await incentives.apply(event(result, person))  # the same result announced again
    rewards = [
        e
        for e in await incentives.outbox(person)
        if e["event_type"] == payloads.RewardGranted.event_type
    ]
    assert [r["payload"]["amount_fen"] for r in rewards] == [30_000_000]
    assert rewards[0]["payload"]["rule_version"] == "worldskills-2017"


async def test_one_competition_promotion_per_year(incentives: Incentives, stack: Any) -> None:
    person = new_person()

    def promotion(granted_on: date) -> PromotionGranted:
        return PromotionGranted(
            promotion_id=f"promo-{uuid.uuid4().hex[:10]}",
            competition_id="provincial-2025",
            tier="provincial_class1",
            occupation_code=ELECTRICIAN,
            to_level=2,
            issuing_body_id="S0001",
            holder_name_masked="李*",
            granted_on=granted_on,
            rule_version="tianjin-2020",
        )

    first, second, next_year = (
        promotion(date(2025, 5, 1)),
        promotion(date(2025, 9, 1)),
        promotion(date(2026, 3, 1)),
    )
    for p in (first, first, second, next_year):
        await incentives.apply(event(p, person))
    rows = await incentives.conn.fetch(
        "SELECT promotion_id, status, rule FROM incentives.promotions WHERE person_key = $1", person
    )
    statuses = {r["promotion_id"]: (r["status"], r["rule"]) for r in rows}
    assert statuses == {
        first.promotion_id: ("started", None),
        second.promotion_id: ("refused", Rule.PROMOTION_ONE_PER_YEAR),
        next_year.promotion_id: ("started", None),
    }
    refused = [
        e
        for e in await incentives.outbox(person)
        if e["event_type"] == payloads.PromotionRefused.event_type
    ]
    assert [(r["payload"]["promotion_id"], r["payload"]["rule"]) for r in refused] == [
        (second.promotion_id, Rule.PROMOTION_ONE_PER_YEAR)
    ]
    described = await stack.temporal.get_workflow_handle(
        promotion_workflow_id(first.promotion_id)
    ).describe()
    assert described.workflow_type == "PromotionCertificationWorkflow"


async def test_a_refusal_for_insured_months_is_reconsidered_once_the_records_arrive(
    incentives: Incentives,
) -> None:
    person = new_person()
    await incentives.insured(person, 6, TODAY.date() - timedelta(days=20))
    number = await incentives.certify(person, level=4)
    claim_id = f"skill_upgrade:{number}"
    assert await incentives.claim_rule("skill_upgrade", number) == Rule.SUBSIDY_INSURED_MONTHS

    # Nothing new is known: still refused, and nothing changes.
    with pytest.raises(RuleViolation) as still:
        await reconsider_claim(incentives.conn, claim_id, reviewer="r", reason="asked")
    assert still.value.rule == Rule.SUBSIDY_INSURED_MONTHS
    assert (await incentives.claim("skill_upgrade", number))["status"] == "refused"

    # The social-security record arrives late, dated before the claim: it counts.
    await incentives.insured(person, 26, TODAY.date() - timedelta(days=10))
    status = await reconsider_claim(
        incentives.conn, claim_id, reviewer="regulator-li", reason="insurance loaded"
    )

    claim = await incentives.claim("skill_upgrade", number)
    assert (status, claim["status"], claim["paid"], claim["rule"]) == (
        "granted",
        "granted",
        150_000,
        None,
    )
    assert claim["reviewed_by"] == "regulator-li"
    kinds = [
        e["event_type"]
        for e in await incentives.outbox(person)
        if e["payload"].get("claim_id") == claim_id
    ]
    assert kinds == [payloads.SubsidyRefused.event_type, payloads.SubsidyGranted.event_type]
    with pytest.raises(RuleViolation) as again:
        await reconsider_claim(incentives.conn, claim_id, reviewer="r", reason="again")
    assert again.value.rule == Rule.RECONSIDER_NOT_RECONSIDERABLE


async def test_only_an_insured_months_refusal_is_reconsidered(incentives: Incentives) -> None:
    person = await incentives.insured_person()
    late = await incentives.certify(person, issued_on=TODAY.date() - timedelta(days=400))
    with pytest.raises(RuleViolation) as refused:
        await reconsider_claim(
            incentives.conn, f"skill_upgrade:{late}", reviewer="r", reason="please"
        )
    assert refused.value.rule == Rule.RECONSIDER_NOT_RECONSIDERABLE
