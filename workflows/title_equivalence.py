"""The daily title-equivalence run (职称贯通).

A Temporal Schedule starts ``TitleEquivalenceWorkflow`` every day. It asks the records
activity, in bounded batches, to find workers whose skill level has been held long enough
for an engineering title and to publish ``title.eligible`` once per worker and title.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Final

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import RetryPolicy

from policy.calendar import china_date
from schemas.archive import TitleEquivalenceBatch, TitleEquivalenceOutcome, TitleEquivalenceRequest
from schemas.workflow_ids import TITLE_EQUIVALENCE_WORKFLOW_ID

with workflow.unsafe.imports_passed_through():
    from activities.title_equivalence import TitleEquivalenceActivities

if TYPE_CHECKING:
    from skillflow.settings import Settings

TITLE_EQUIVALENCE_WORKFLOW: Final = "TitleEquivalenceWorkflow"
TITLE_EQUIVALENCE_SCHEDULE_ID: Final = "title-equivalence-daily"
# 02:00 in China (UTC+8, no daylight saving), after the day's certificates are in.
DAILY_AT: Final = "0 18 * * *"
# Each batch is one short transaction; a long history is cut with continue-as-new.
_ACTIVITY_TIMEOUT: Final = timedelta(minutes=5)


@workflow.defn(name=TITLE_EQUIVALENCE_WORKFLOW)
class TitleEquivalenceWorkflow:
    @workflow.run
    async def run(self, request: TitleEquivalenceRequest) -> TitleEquivalenceOutcome:
        # Fixed once, so every batch (and a continued run) judges the same day.
        as_of = request.as_of or china_date(workflow.now())
        published = 0
        while True:
            batch = await workflow.execute_activity_method(
                TitleEquivalenceActivities.publish_due_title_equivalences,
                TitleEquivalenceBatch(as_of=as_of, limit=request.batch_size),
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
            )
            published += batch.published
            if batch.published < request.batch_size:
                return TitleEquivalenceOutcome(as_of=as_of, published=published)
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    TitleEquivalenceRequest(as_of=as_of, batch_size=request.batch_size)
                )


async def ensure_title_equivalence_schedule(client: Client, settings: Settings) -> None:
    """Create the daily schedule once; an existing one is left as it is."""
    try:
        await client.create_schedule(
            TITLE_EQUIVALENCE_SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    TitleEquivalenceWorkflow.run,
                    TitleEquivalenceRequest(),
                    id=TITLE_EQUIVALENCE_WORKFLOW_ID,
                    task_queue=settings.task_queue,
                ),
                spec=ScheduleSpec(cron_expressions=[DAILY_AT]),
                # A missed day is caught up once; two runs never overlap.
                policy=SchedulePolicy(
                    overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)
                ),
            ),
        )
    except ScheduleAlreadyRunningError:
        pass
