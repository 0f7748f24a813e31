"""Activities of the evaluation-body filing: the bodies projection, its events, quality
sampling. Each is idempotent on the workflow's business keys."""

from __future__ import annotations

from datetime import datetime

from temporalio import activity

from activities.resources import ActivityResources
from policy.assessment import AssessmentPolicy, load_assessment_policy
from policy.errors import RuleViolation, RuleViolations
from policy.filing import check_filing
from policy.rule_ids import Rule
from schemas.evaluation_body import (
    BodyFiledRecord,
    BodyFiling,
    BodyStatusRecord,
    QualityReviewRecord,
    QualitySample,
    QualitySampleRecord,
)
from schemas.events import EventEnvelope, workflow_event
from schemas.payloads import (
    BodyApproved,
    BodyEvent,
    BodyFiled,
    BodyReinstated,
    BodyRejected,
    BodyRevoked,
    BodySuspended,
    CommissionRecorded,
    QualityReviewed,
    QualitySampled,
)
from schemas.workflow_ids import body_workflow_id
from store import certification
from store.database import Connection
from store.outbox import enqueue
from workflows.rules import as_rule_error, rule_error, rules_error

PRODUCER = "skillflow.evaluation_body"


def _body_event(payload: BodyEvent, business_key: str, occurred_at: datetime) -> EventEnvelope:
    """An event of a body's filing: correlated with the body's workflow, about no worker."""
    workflow_id = body_workflow_id(payload.body_id)
    return workflow_event(payload, PRODUCER, workflow_id, business_key, occurred_at)


async def record_commission_contract(
    conn: Connection, commission: CommissionRecorded, occurred_at: datetime
) -> None:
    """An enterprise's commission contract (it may then evaluate workers it does not
    employ) and its event, in the caller's transaction. No workflow step: nothing about
    it is decided over time."""
    await certification.save_commission(
        conn,
        commission.body_id,
        commission.commission_id,
        commission.client,
        commission.valid_until,
    )
    await enqueue(
        conn,
        _body_event(
            commission,
            # The same contract sent again is the same event; a changed one is new.
            f"{commission.commission_id}|{commission.valid_until}|{commission.client}",
            occurred_at,
        ),
    )


def check_body_filing(filing: BodyFiling, *, demo_allowed: bool) -> None:
    """Every rule a filing meets (policy.filing), raised together.

    The API calls it before it starts the body's workflow, so refused input starts no
    workflow (and the console counts no failed one); the filing's activity applies it again
    when it records the filing.
    """
    check_filing(
        body_type=filing.body_type,
        province_code=filing.province_code,
        scope=[(entry.occupation_code, entry.level) for entry in filing.scope],
        pass_mark=filing.pass_mark,
        sub_levels=[(sub.code, sub.national_level) for sub in filing.sub_levels],
        policy_version=filing.policy_version,
        demo_allowed=demo_allowed,
    )


class EvaluationBodyActivities:
    def __init__(self, resources: ActivityResources) -> None:
        self._pool = resources.pool
        self._demo_policies = resources.settings.demo_policies

    @activity.defn(name="certification.assessment_policy")
    async def assessment_policy(self, version: str) -> AssessmentPolicy:
        try:
            return load_assessment_policy(version)
        except RuleViolation as exc:
            raise as_rule_error(exc) from None

    @activity.defn(name="certification.record_body_filed")
    async def record_body_filed(self, record: BodyFiledRecord) -> None:
        """Check the filing (refused: the workflow fails with the rules it broke) and
        record it with its event."""
        filing = record.filing
        try:
            check_body_filing(filing, demo_allowed=self._demo_policies)
        except RuleViolation as violation:
            raise as_rule_error(violation) from None
        except RuleViolations as violations:
            raise rules_error(violations.violations) from None
        event = _body_event(
            BodyFiled(
                body_id=filing.body_id,
                body_type=filing.body_type,
                name=filing.name,
                province_code=filing.province_code,
                scope=[entry.key for entry in filing.scope],
            ),
            filing.body_id,
            record.occurred_at,
        )
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO certification.bodies
                       (body_id, body_type, name, province_code, body_code, site_serial, scope,
                        pass_mark, sub_levels, status, policy_version, filed_at, updated_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'submitted', $10, $11, $11)
                   ON CONFLICT (body_id) DO NOTHING""",
                filing.body_id,
                filing.body_type,
                filing.name,
                filing.province_code,
                filing.body_code,
                filing.site_serial,
                [entry.key for entry in filing.scope],
                filing.pass_mark,
                [sub.model_dump() for sub in filing.sub_levels],
                filing.policy_version,
                record.occurred_at,
            )
            await enqueue(conn, event)

    @activity.defn(name="certification.record_body_status")
    async def record_body_status(self, record: BodyStatusRecord) -> None:
        payload: BodyEvent
        if record.event == "approved":
            payload = BodyApproved(
                body_id=record.body_id, filing_receipt=record.filing_receipt or ""
            )
        elif record.event == "rejected":
            payload = BodyRejected(body_id=record.body_id)
        elif record.event == "suspended":
            payload = BodySuspended(body_id=record.body_id)
        elif record.event == "reinstated":
            payload = BodyReinstated(body_id=record.body_id)
        else:
            payload = BodyRevoked(body_id=record.body_id)
        # The reason is free text: it stays in status_reason below, out of the event.
        event = _body_event(
            payload,
            f"{record.body_id}:{record.transition}",
            record.occurred_at,
        )
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """UPDATE certification.bodies
                   SET status = $2, status_reason = $3,
                       filing_receipt = coalesce($4, filing_receipt), updated_at = $5
                   WHERE body_id = $1""",
                record.body_id,
                record.status,
                record.reason or None,
                record.filing_receipt,
                record.occurred_at,
            )
            await enqueue(conn, event)

    @activity.defn(name="certification.sample_certificates")
    async def sample_certificates(self, record: QualitySampleRecord) -> QualitySample:
        """Pick the configured share of the body's certificates not sampled before.

        The order is a hash of number and sample id: spread over the whole body, not the
        newest, and the same again for a retried activity.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            already = await conn.fetch(
                """SELECT certificate_number FROM certification.quality_reviews
                   WHERE body_id = $1 AND sample_id = $2 ORDER BY certificate_number""",
                record.body_id,
                record.sample_id,
            )
            if already:
                return QualitySample(
                    sample_id=record.sample_id,
                    certificate_numbers=[r["certificate_number"] for r in already],
                )
            picked = await conn.fetch(
                """WITH issued AS (
                       SELECT certificate_number FROM certification.certificates
                       WHERE body_id = $1 AND status = 'valid'),
                   share AS (
                       SELECT ceil(count(*) * $3::numeric / 100)::int AS n FROM issued)
                   INSERT INTO certification.quality_reviews
                       (body_id, certificate_number, sample_id, sampled_at)
                   SELECT $1, i.certificate_number, $2, $4
                   FROM issued i
                   WHERE NOT EXISTS (SELECT 1 FROM certification.quality_reviews q
                                     WHERE q.body_id = $1
                                       AND q.certificate_number = i.certificate_number)
                   ORDER BY md5(i.certificate_number || $2)
                   LIMIT (SELECT n FROM share)
                   ON CONFLICT DO NOTHING
                   RETURNING certificate_number""",
                record.body_id,
                record.sample_id,
                record.share_pct,
                record.occurred_at,
            )
            sample = QualitySample(
                sample_id=record.sample_id,
                certificate_numbers=sorted(r["certificate_number"] for r in picked),
            )
            await enqueue(
                conn,
                _body_event(
                    QualitySampled(
                        body_id=record.body_id,
                        sample_id=sample.sample_id,
                        certificate_numbers=sample.certificate_numbers,
                    ),
                    record.sample_id,
                    record.occurred_at,
                ),
            )
        return sample

    @activity.defn(name="certification.record_quality_review")
    async def record_quality_review(self, record: QualityReviewRecord) -> None:
        review = record.review
        async with self._pool.acquire() as conn, conn.transaction():
            updated = await conn.execute(
                """UPDATE certification.quality_reviews
                   SET passed = $3, finding = $4, reviewed_at = $5
                   WHERE body_id = $1 AND certificate_number = $2""",
                record.body_id,
                review.certificate_number,
                review.passed,
                review.finding,
                record.occurred_at,
            )
            if updated == "UPDATE 0":
                raise rule_error(
                    "certificate_number",
                    Rule.QUALITY_NOT_SAMPLED,
                    "this certificate was not sampled for review at this body",
                )
            await enqueue(
                conn,
                _body_event(
                    QualityReviewed(
                        body_id=record.body_id,
                        certificate_number=review.certificate_number,
                        passed=review.passed,
                        finding=review.finding,
                    ),
                    # A certificate may be reviewed again: each review is its own event,
                    # the same one again for a retried activity.
                    f"{review.certificate_number}@{record.occurred_at.isoformat()}",
                    record.occurred_at,
                ),
            )
