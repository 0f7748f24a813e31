"""Where personal data could end up, read raw: Temporal histories as the server keeps them
(no codec), every Kafka message, log text, every row of every table.

Each reader returns the raw texts it found plus how many items it read, so a test can both
look for personal data and say how much it looked at.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from skillflow.codec import ENCODING
from skillflow.stack.servers import postgres_bin_dir


@dataclass
class Haystack:
    """Raw bytes from one place, and what was counted while reading them."""

    place: str
    chunks: list[bytes] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def find(self, needles: Iterable[str]) -> dict[str, int]:
        """Occurrences of each needle, as UTF-8 and as a JSON ``\\uXXXX`` escape."""
        found: dict[str, int] = {}
        for needle in needles:
            forms = {needle.encode(), json.dumps(needle)[1:-1].encode()}
            hits = sum(chunk.count(form) for chunk in self.chunks for form in forms)
            if hits:
                found[needle] = hits
        return found


def _payloads(message: Message) -> Iterator[Payload]:
    if isinstance(message, Payload):
        yield message
        return
    for descriptor, value in message.ListFields():
        if descriptor.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        if descriptor.message_type.GetOptions().map_entry:
            values = list(value.values())
        elif descriptor.is_repeated:
            values = list(value)
        else:
            values = [value]
        for item in values:
            if isinstance(item, Message):
                yield from _payloads(item)


async def temporal_histories(client: Client) -> Haystack:
    """Every workflow's history, as served by the frontend: payloads as stored."""
    haystack = Haystack("temporal histories")
    workflows = payloads = encrypted = indexed = markers = 0
    async for execution in client.list_workflows():
        history = await client.get_workflow_handle(
            execution.id, run_id=execution.run_id
        ).fetch_history()
        workflows += 1
        for event in history.events:
            haystack.chunks.append(event.SerializeToString())
            for payload in _payloads(event):
                payloads += 1
                if payload.metadata.get("encoding") == ENCODING:
                    encrypted += 1
                elif "type" in payload.metadata:
                    indexed += 1  # a search attribute: the server indexes it, no codec
                elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
                    # The SDK's own bookkeeping (a patch id, a local activity's sequence
                    # number and type), written without the codec; the results are encoded.
                    markers += 1
    haystack.counts = {
        "workflows": workflows,
        "payloads": payloads,
        "encrypted": encrypted,
        "search attributes": indexed,
        "marker details": markers,
    }
    return haystack


async def kafka_messages(bootstrap_servers: str) -> Haystack:
    """Every message of every topic on the broker, from the beginning, keys and values."""
    haystack = Haystack("kafka")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        topics = sorted(await consumer.topics())
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp, end in ends.items() if end > 0}
        messages = 0
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    messages += 1
                    haystack.chunks.append((record.key or b"") + b"\n" + (record.value or b""))
                    for _, header in record.headers:
                        haystack.chunks.append(header)
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    haystack.counts = {"topics": len(topics), "messages": messages}
    return haystack


async def database_rows(pool: asyncpg.Pool, skip_columns: set[str]) -> Haystack:
    """Every row of every table of every schema, as PostgreSQL prints it (``row::text``),
    leaving out ``skip_columns`` (``schema.table.column``: the sealed ones, bytea anyway)."""
    haystack = Haystack("postgresql")
    tables = await pool.fetch(
        """SELECT table_schema, table_name FROM information_schema.tables
           WHERE table_type = 'BASE TABLE'
             AND table_schema NOT IN ('pg_catalog', 'information_schema')
           ORDER BY 1, 2"""
    )
    rows = 0
    for table in tables:
        schema, name = table["table_schema"], table["table_name"]
        columns = [
            c["column_name"]
            for c in await pool.fetch(
                """SELECT column_name FROM information_schema.columns
                   WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position""",
                schema,
                name,
            )
            if f"{schema}.{name}.{c['column_name']}" not in skip_columns
        ]
        selected = ", ".join(f'"{c}"::text' for c in columns)
        for row in await pool.fetch(f'SELECT {selected} FROM "{schema}"."{name}"'):
            rows += 1
            haystack.chunks.append(
                f"{schema}.{name}: ".encode() + "\t".join(v or "" for v in row).encode()
            )
    haystack.counts = {"tables": len(tables), "rows": rows}
    return haystack


def files(place: str, paths: Iterable[Path]) -> Haystack:
    """Files as they lie on disk: logs, the Temporal server's SQLite database."""
    chunks = [path.read_bytes() for path in paths]
    return Haystack(place, chunks, {"files": len(chunks), "bytes": sum(map(len, chunks))})


def pg_dump(dsn: str) -> Haystack:
    """The database as ``pg_dump`` writes it (the embedded server's own binary)."""
    dump = subprocess.run(
        [str(postgres_bin_dir() / "pg_dump"), "--data-only", "--no-owner", dsn],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    rows, copying = 0, False
    for line in dump.splitlines():
        if line.startswith(b"COPY "):
            copying = True
        elif line == b"\\.":
            copying = False
        elif copying:
            rows += 1
    return Haystack("pg_dump", [dump], {"rows": rows, "bytes": len(dump)})


def where_found(haystack: Haystack, needle: str) -> set[str]:
    """The tables (``schema.table``) whose rows hold ``needle``: for a database haystack."""
    return {
        chunk.split(b": ", 1)[0].decode() for chunk in haystack.chunks if needle.encode() in chunk
    }
