"""One process of a scale-out measurement, started N times by ``skillflow benchmark scale``.

``python -m skillflow.benchmarks.scale_process KIND ...`` with the ``SKILLFLOW_*`` settings
in the environment runs until SIGTERM:

* ``noop-worker QUEUE``: a Temporal worker of the no-op baseline workflow only;
* ``consumer TOPIC NAME``: the real consumer path (FastStream batch subscriber, exactly-once
  delivery, the incentive service's registration handler) in consumer group NAME;
* ``plain TOPIC GROUP SESSION``: the plain aiokafka + asyncpg loop in consumer group GROUP.

The parent measures from the database and from Temporal, so these processes print nothing.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from temporalio.worker import Worker

from consumers.app import ConsumerRuntime, build_broker, settle_heap
from skillflow import temporal
from skillflow.benchmarks.baseline import NoopWorkflow, noop
from skillflow.benchmarks.consumers import BATCH, _PlainLoop, registration_consumer
from skillflow.settings import load_settings
from store.database import create_pool


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def main(argv: list[str]) -> None:
    settings = load_settings()
    kind = argv[0]
    if kind == "noop-worker":
        client = await temporal.connect(settings)
        async with Worker(
            client,
            task_queue=argv[1],
            workflows=[NoopWorkflow],
            activities=[noop],
            workflow_runner=temporal.workflow_runner(),
        ):
            await _until_stopped()
        return
    pool = await create_pool(settings.postgres_dsn, min_size=1, max_size=4)
    try:
        if kind == "consumer":
            topic, name = argv[1], argv[2]
            # The same consumer as the consumers benchmark.
            consumer = registration_consumer(name, topic)
            broker = build_broker(
                ConsumerRuntime(settings=settings, pool=pool), [consumer], batch_max_records=BATCH
            )
            settle_heap()  # as the consumers role does before it starts its broker
            await broker.start()
            try:
                await _until_stopped()
            finally:
                await broker.stop()
        elif kind == "plain":
            topic, group, session = argv[1], argv[2], argv[3]
            plain = _PlainLoop(settings, pool, topic, session, group)
            await plain.start()
            try:
                await _until_stopped()
            finally:
                await plain.stop()
        else:
            raise SystemExit(f"unknown kind {kind}")
    finally:
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
