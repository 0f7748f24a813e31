"""The worker's record of activities that keep failing: each retryable failure is upserted
into ``operations.activity_retries`` (the console lists those past the service level's
attempt count); the activity's next success removes the row. Only the error's type and
message are kept, which by the project's rule never carry personal data."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from skillflow.metrics import ACTIVITY_FAILURES

log = logging.getLogger(__name__)


class ActivityRetries(Interceptor):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _RecordRetries(next, self._pool)


class _RecordRetries(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, pool: asyncpg.Pool) -> None:
        super().__init__(next)
        self._pool = pool

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        try:
            result = await super().execute_activity(input)
        except Exception as exc:
            if not (isinstance(exc, ApplicationError) and exc.non_retryable):
                ACTIVITY_FAILURES.labels(info.activity_type).inc()
                await self._record(info, f"{type(exc).__name__}: {exc}"[:500])
            raise
        if info.attempt > 1:
            await self._forget(info)
        return result

    async def _record(self, info: activity.Info, error: str) -> None:
        try:
            # An attempt that began before an operator reset or terminated the workflow
            # belongs to a run already dealt with: it is not late work any more.
            await self._pool.execute(
                """INSERT INTO operations.activity_retries
                       (workflow_id, run_id, activity_id, activity_type, workflow_type, attempt,
                        last_error)
                   SELECT $1, $2, $3, $4, $5, $6, $7
                   WHERE NOT EXISTS (
                       SELECT 1 FROM operations.repairs
                       WHERE target = $1 AND action IN ('reset', 'terminate')
                         AND requested_at >= $8)
                   ON CONFLICT (workflow_id, run_id, activity_id) DO UPDATE
                   SET attempt = EXCLUDED.attempt, last_error = EXCLUDED.last_error,
                       last_failed_at = now()""",
                info.workflow_id,
                info.workflow_run_id,
                info.activity_id,
                info.activity_type,
                info.workflow_type,
                info.attempt,
                error,
                info.current_attempt_scheduled_time,
            )
        except (OSError, asyncpg.PostgresError) as exc:
            # The database may be the very cause of the failure: say so, never mask it.
            log.warning("activity retry not recorded (%s)", type(exc).__name__)

    async def _forget(self, info: activity.Info) -> None:
        try:
            await self._pool.execute(
                """DELETE FROM operations.activity_retries
                   WHERE workflow_id = $1 AND run_id = $2 AND activity_id = $3""",
                info.workflow_id,
                info.workflow_run_id,
                info.activity_id,
            )
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("activity retry not cleared (%s)", type(exc).__name__)
