"""Stop the broker while events are produced, keep it down, then let the stack restart it.

While it is down the API and the workflows go on: each registration's event waits in the
outbox (same transaction as the registration), and the relay retries with back-off. The
local broker keeps messages in memory, so its restart also loses what it held before: the
stack re-creates the topics and marks unsent again every event that a consumer group had
not applied (``requeue_unapplied``), and consumers drop what they already had. Apache Kafka
keeps acknowledged messages on disk across a restart; there the outbox holding is all that
is needed. Afterwards every event is published and applied once by each consumer group.
"""

from __future__ import annotations

import asyncio
import signal
import time

from skillflow.drills import DrillReport
from skillflow.drills.exam import open_and_register
from skillflow.drills.stack import StackHandle

CANDIDATES = 20
HELD_SECONDS = 3.0


async def run(stack: StackHandle) -> DrillReport:
    report = DrillReport("broker-stop")
    await stack.wait_delivered(await stack.outbox_mark())
    mark = await stack.outbox_mark()
    with stack.hold("kafka"):
        pid = stack.signal("kafka", signal.SIGTERM)
        await stack.wait_gone(pid)
        stopped_at = time.monotonic()
        session = await open_and_register(stack, CANDIDATES)
        await asyncio.sleep(HELD_SECONDS)
        held = (await stack.delivery(mark)).unsent
        down = time.monotonic() - stopped_at
    restarted_at = time.monotonic()
    await stack.wait_restarted("kafka", pid)
    tally = await stack.wait_delivered(mark)
    drained = time.monotonic() - restarted_at
    await asyncio.sleep(2.0)  # a second application of any event would show by now
    again = await stack.delivery(mark)

    report.figure(
        "registered",
        "candidates registered while the broker was down",
        len(session.application_ids),
    )
    report.figure("down_s", "seconds the broker was down", down, "s")
    report.figure("held", "events held in the outbox meanwhile", held)
    report.figure("drain_s", "seconds from the restart until every event was applied", drained, "s")
    report.figure(
        "deliveries", "deliveries applied (each event once per consumer group)", tally.applied
    )
    report.expect(held >= len(session.application_ids), f"only {held} events held in the outbox")
    report.expect(tally.applied == tally.expected, "some events were not applied")
    report.expect(again.applied == tally.expected, "the deliveries changed after draining")
    return report
