"""The daily title-equivalence workflow on the time-skipping server, with the records
activity replaced by an in-memory fake of the same name and signature."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta, timezone

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.title_equivalence import TitleEquivalenceActivities
from schemas.archive import TitleEquivalenceBatch, TitleEquivalenceOutcome, TitleEquivalenceRequest
from skillflow.settings import Settings
from skillflow.temporal import data_converter, workflow_runner
from tests.workflow.conftest import fake_of, time_skipping_environment
from workflows.title_equivalence import TitleEquivalenceWorkflow

QUEUE = "title-equivalence-test"


@pytest.fixture(scope="module")
async def title_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_environment() as environment:
        yield environment


class DueWorkers:
    """Pretends ``due`` workers are waiting and publishes up to ``limit`` per call."""

    def __init__(self, due: int) -> None:
        self.due = due
        self.calls: list[TitleEquivalenceBatch] = []

        @fake_of(TitleEquivalenceActivities.publish_due_title_equivalences)
        async def publish(batch: TitleEquivalenceBatch) -> TitleEquivalenceOutcome:
            self.calls.append(batch)
            published = min(self.due, batch.limit)
            self.due -= published
            return TitleEquivalenceOutcome(as_of=batch.as_of, published=published)

        self.publish = publish


async def _run(
    env: WorkflowEnvironment,
    fake: DueWorkers,
    request: TitleEquivalenceRequest,
    workflow_id: str | None = None,
) -> TitleEquivalenceOutcome:
    async with Worker(
        env.client,
        task_queue=QUEUE,
        workflows=[TitleEquivalenceWorkflow],
        activities=[fake.publish],
        workflow_runner=workflow_runner(),
    ):
        return await env.client.execute_workflow(
            TitleEquivalenceWorkflow.run,
            request,
            id=workflow_id or f"title-equivalence-{uuid.uuid4().hex[:8]}",
            task_queue=QUEUE,
        )


async def test_publishes_in_bounded_batches_until_none_are_due(
    title_env: WorkflowEnvironment,
) -> None:
    fake = DueWorkers(due=7)
    outcome = await _run(
        title_env, fake, TitleEquivalenceRequest(as_of=date(2026, 3, 1), batch_size=3)
    )
    assert outcome == TitleEquivalenceOutcome(as_of=date(2026, 3, 1), published=7)
    assert [c.limit for c in fake.calls] == [3, 3, 3]
    assert {c.as_of for c in fake.calls} == {date(2026, 3, 1)}


async def test_an_exact_multiple_ends_with_an_empty_batch(title_env: WorkflowEnvironment) -> None:
    fake = DueWorkers(due=6)
    outcome = await _run(
        title_env, fake, TitleEquivalenceRequest(as_of=date(2026, 3, 1), batch_size=3)
    )
    assert outcome.published == 6 and len(fake.calls) == 3


async def test_judges_today_in_china_by_default(title_env: WorkflowEnvironment) -> None:
    fake = DueWorkers(due=0)
    before = (await title_env.get_current_time()).astimezone(timezone(timedelta(hours=8))).date()
    outcome = await _run(title_env, fake, TitleEquivalenceRequest())
    assert outcome.published == 0 and outcome.as_of in (before, before + timedelta(days=1))
    assert fake.calls[0].as_of == outcome.as_of


async def test_history_replays_deterministically(title_env: WorkflowEnvironment) -> None:
    fake = DueWorkers(due=5)
    workflow_id = f"title-equivalence-{uuid.uuid4().hex[:8]}"
    await _run(title_env, fake, TitleEquivalenceRequest(batch_size=2), workflow_id)
    history = await title_env.client.get_workflow_handle(workflow_id).fetch_history()
    replayer = Replayer(
        workflows=[TitleEquivalenceWorkflow],
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)
