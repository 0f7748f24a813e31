"""The import job's workflow on the time-skipping server, with its activities replaced by
in-memory fakes of the same names and signatures: it covers every row once, in batches of
the given size, and closes the job only after the last batch."""

from __future__ import annotations

import uuid

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.imports import ImportActivities
from schemas.imports import BatchOutcome, ImportBatch, ImportJobStart, ImportOutcome
from skillflow.temporal import workflow_runner
from tests.workflow.conftest import fake_of
from workflows.imports import ImportWorkflow

QUEUE = "import-test"


class Rows:
    """Records the batches asked for, and when the job was closed."""

    def __init__(self, *, fail_first_attempt_of: int | None = None) -> None:
        self.batches: list[tuple[int, int]] = []
        self.closed_after: int | None = None
        self.failed = False

        @fake_of(ImportActivities.decide_rows)
        async def decide_rows(batch: ImportBatch) -> BatchOutcome:
            if batch.first == fail_first_attempt_of and not self.failed:
                self.failed = True  # as a worker killed mid-batch: Temporal retries it
                raise RuntimeError("worker lost")
            self.batches.append((batch.first, batch.last))
            return BatchOutcome(decided=batch.last - batch.first + 1)

        @fake_of(ImportActivities.finish_job)
        async def finish_job(job_id: str) -> ImportOutcome:
            self.closed_after = len(self.batches)
            return ImportOutcome(job_id=job_id, total=sum(b - a + 1 for a, b in self.batches))

        self.activities = [decide_rows, finish_job]


async def _run(env: WorkflowEnvironment, rows: Rows, job: ImportJobStart) -> ImportOutcome:
    async with Worker(
        env.client,
        task_queue=QUEUE,
        workflows=[ImportWorkflow],
        activities=rows.activities,
        workflow_runner=workflow_runner(),
    ):
        return await env.client.execute_workflow(
            ImportWorkflow.run, job, id=f"import-test-{uuid.uuid4().hex[:8]}", task_queue=QUEUE
        )


async def test_every_row_is_in_exactly_one_batch_and_the_job_closes_last(
    env: WorkflowEnvironment,
) -> None:
    rows = Rows()
    outcome = await _run(env, rows, ImportJobStart(job_id="j1", total=1001, batch_rows=100))
    assert sorted(rows.batches)[0] == (1, 100)
    assert sorted(rows.batches)[-1] == (1001, 1001)
    covered = [n for first, last in rows.batches for n in range(first, last + 1)]
    assert sorted(covered) == list(range(1, 1002))
    assert rows.closed_after == 11
    assert outcome == ImportOutcome(job_id="j1", total=1001)


async def test_an_empty_file_closes_at_once(env: WorkflowEnvironment) -> None:
    rows = Rows()
    outcome = await _run(env, rows, ImportJobStart(job_id="j2", total=0, batch_rows=100))
    assert rows.batches == []
    assert outcome.total == 0


async def test_a_failed_batch_is_retried_and_the_job_still_covers_every_row(
    env: WorkflowEnvironment,
) -> None:
    rows = Rows(fail_first_attempt_of=201)
    await _run(env, rows, ImportJobStart(job_id="j3", total=450, batch_rows=100))
    assert rows.failed
    assert sorted(rows.batches) == [(1, 100), (101, 200), (201, 300), (301, 400), (401, 450)]
