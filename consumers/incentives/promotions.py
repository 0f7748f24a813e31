"""Competition promotions: check the yearly quota, then start the no-exam certification path.

The certification workflow then issues a certificate (route "promotion") that comes back
as ``certificate.issued`` and goes through the same subsidy rules as any other.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from consumers.delivery import RetryLater
from consumers.dispatch import PayloadHandler
from consumers.incentives.ledger import emit
from policy.rewards import promotion_policy, promotion_refusal
from schemas.commands import PromotionCertificationRequest
from schemas.events import EventEnvelope
from schemas.payloads import CertificateWithheld, PromotionGranted, PromotionRefused
from schemas.workflow_ids import promotion_id_of, promotion_workflow_id
from store.database import Connection
from workflows import search_attributes
from workflows.promotion import PromotionCertificationWorkflow


def promotion_handler(temporal: Client, task_queue: str) -> PayloadHandler[PromotionGranted]:
    async def on_promotion_granted(
        conn: Connection, event: EventEnvelope, promotion: PromotionGranted
    ) -> None:
        if event.person_key is None:
            raise ValueError(f"promotion.granted {event.event_id} has no person_key")
        policy = promotion_policy()
        decided = await conn.fetchval(
            "SELECT status FROM incentives.promotions WHERE promotion_id = $1",
            promotion.promotion_id,
        )
        if decided in ("refused", "withheld"):
            return
        if decided is None:
            started_this_year = await conn.fetchval(
                """SELECT count(*) FROM incentives.promotions
                   WHERE person_key = $1 AND status = 'started'
                     AND extract(year FROM granted_on) = $2""",
                event.person_key,
                promotion.granted_on.year,
            )
            refusal = promotion_refusal(started_this_year, policy)
            workflow_id = None if refusal else promotion_workflow_id(promotion.promotion_id)
            await conn.execute(
                """INSERT INTO incentives.promotions
                     (promotion_id, person_key, competition_id, occupation_code, to_level,
                      granted_on, status, rule, rule_version, workflow_id)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
                promotion.promotion_id,
                event.person_key,
                promotion.competition_id,
                promotion.occupation_code,
                promotion.to_level,
                promotion.granted_on,
                "refused" if refusal else "started",
                refusal,
                policy.version,
                workflow_id,
            )
            if refusal:
                await emit(
                    conn,
                    PromotionRefused(
                        promotion_id=promotion.promotion_id,
                        competition_id=promotion.competition_id,
                        occupation_code=promotion.occupation_code,
                        to_level=promotion.to_level,
                        rule=refusal,
                        reason=(
                            f"at most {policy.max_per_person_per_year} competition promotion(s) "
                            f"per person per calendar year ({promotion.granted_on.year})"
                        ),
                        rule_version=policy.version,
                    ),
                    business_key=promotion.promotion_id,
                    correlation_id=str(event.event_id),
                    person_key=event.person_key,
                )
                return
        # Started after the row is written but before the transaction commits: if the commit
        # fails the event is redelivered and the start is repeated, which the id reuse
        # policy turns into WorkflowAlreadyStartedError, i.e. success.
        request = PromotionCertificationRequest(
            promotion_id=promotion.promotion_id,
            person_key=event.person_key,
            holder_name_masked=promotion.holder_name_masked,
            competition_id=promotion.competition_id,
            occupation_code=promotion.occupation_code,
            to_level=promotion.to_level,
            issuing_body_id=promotion.issuing_body_id,
            granted_on=promotion.granted_on,
            correlation_id=str(event.event_id),
        )
        try:
            await temporal.start_workflow(
                PromotionCertificationWorkflow.run,
                request,
                id=promotion_workflow_id(promotion.promotion_id),
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=search_attributes_for(promotion),
            )
        except WorkflowAlreadyStartedError:
            pass
        except RPCError as exc:
            if exc.status in _TEMPORAL_UNAVAILABLE:
                raise RetryLater(f"Temporal unavailable: {exc.message}") from exc
            raise

    return on_promotion_granted


async def on_certificate_withheld(
    conn: Connection, event: EventEnvelope, withheld: CertificateWithheld
) -> None:
    """A promotion whose certificate was withheld no longer counts toward the yearly limit,
    so a later promotion that year can still be certified."""
    promotion_id = promotion_id_of(withheld.application_id)
    if promotion_id is None:
        return
    await conn.execute(
        """UPDATE incentives.promotions SET status = 'withheld', rule = $2
           WHERE promotion_id = $1 AND status = 'started'""",
        promotion_id,
        withheld.rule,
    )


_TEMPORAL_UNAVAILABLE = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
}


def search_attributes_for(promotion: PromotionGranted) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(search_attributes.OCCUPATION, promotion.occupation_code),
            SearchAttributePair(search_attributes.LEVEL, promotion.to_level),
            SearchAttributePair(search_attributes.COMPETITION, promotion.competition_id),
        ]
    )
