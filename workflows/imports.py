"""A bulk import (registrations or scores from one CSV file) as a durable job.

The API stores the file's rows in PostgreSQL and starts this workflow with the job id
only: no cell, and so no ID number, is ever in its input, its history or a search
attribute. The workflow decides the rows in batches, a few at a time; each batch activity
skips rows already decided, so a worker killed mid-file costs a retried batch, never a
row applied twice. Progress is read from the rows themselves (``GET .../imports/{job}``).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy

from schemas.imports import ImportBatch, ImportJobStart, ImportOutcome

with workflow.unsafe.imports_passed_through():
    from activities.imports import ImportActivities

# Batches in flight at once: score rows are updates to separate workflows and gain from
# overlap; registrations queue on the session's row lock, so more would only wait.
BATCHES_IN_FLIGHT: Final = 4
# A batch of a few hundred rows takes seconds to a minute (it waits on its workflows'
# starts); its heartbeat (every 5 s, the worker's throttle) lets a batch on a killed worker
# be retried elsewhere long before its start-to-close timeout.
_BATCH_TIMEOUT: Final = timedelta(minutes=10)
_HEARTBEAT_TIMEOUT: Final = timedelta(seconds=30)
_RETRY: Final = RetryPolicy(maximum_interval=timedelta(seconds=30))


@workflow.defn
class ImportWorkflow:
    @workflow.run
    async def run(self, job: ImportJobStart) -> ImportOutcome:
        batches = [
            ImportBatch(
                job_id=job.job_id, first=first, last=min(first + job.batch_rows - 1, job.total)
            )
            for first in range(1, job.total + 1, job.batch_rows)
        ]
        # A window, not rounds: the next batch starts as soon as any batch ends.
        in_flight = asyncio.Semaphore(BATCHES_IN_FLIGHT)
        await asyncio.gather(*(self._decide(batch, in_flight) for batch in batches))
        return await workflow.execute_activity_method(
            ImportActivities.finish_job,
            job.job_id,
            start_to_close_timeout=_BATCH_TIMEOUT,
            retry_policy=_RETRY,
        )

    async def _decide(self, batch: ImportBatch, in_flight: asyncio.Semaphore) -> None:
        async with in_flight:
            await workflow.execute_activity_method(
                ImportActivities.decide_rows,
                batch,
                start_to_close_timeout=_BATCH_TIMEOUT,
                heartbeat_timeout=_HEARTBEAT_TIMEOUT,
                retry_policy=_RETRY,
            )
