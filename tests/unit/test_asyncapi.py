"""The committed AsyncAPI document is the event contract: it must match the code, parse with
the official AsyncAPI parser, and describe every event well enough to consume it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from consumers.asyncapi import asyncapi_document
from consumers.incentives.consumer import incentives_consumer
from consumers.records.consumer import records_consumer
from schemas.events import EVENT_CATALOG
from schemas.payloads import CertificateIssued
from schemas.topics import Topic
from skillflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "asyncapi.json"
PARSER_PACKAGE = Path(__file__).parent / "asyncapi" / "package.json"
PARSER_PREFIX = ROOT / ".cache" / "asyncapi"


def test_committed_asyncapi_matches_the_code() -> None:
    generated = asyncapi_document()
    committed = COMMITTED.read_text().strip()
    assert generated == committed, (
        "asyncapi.json drifted from the consumers and the event catalog: review the change, "
        "then regenerate with `skillflow asyncapi --output asyncapi.json`"
    )


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(asyncapi_document())
    return document


def test_asyncapi_documents_every_topic_and_its_dead_letter_twin() -> None:
    document = _document()
    addresses = {channel["address"] for channel in document["channels"].values()}
    for topic in Topic:
        assert topic.value in addresses and topic.dead_letter in addresses
    assert "EventEnvelope" in document["components"]["schemas"]


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_every_event_type_is_a_named_message_with_its_payload_schema() -> None:
    document = _document()
    messages = document["components"]["messages"]
    for event_type, payload in EVENT_CATALOG.items():
        message = messages[payload.__name__]
        assert message["title"] == event_type
        envelope = _resolve(document, message["payload"]["$ref"])
        properties = envelope["allOf"][1]["properties"]
        assert properties["event_type"] == {"const": event_type}
        # The payload schema is the payload class's own, required fields and all.
        schema = _resolve(document, properties["payload"]["$ref"])
        assert set(schema["properties"]) == set(payload.model_fields)
        assert set(schema.get("required", [])) == {
            name for name, field in payload.model_fields.items() if field.is_required()
        }


def test_one_send_operation_per_topic_lists_every_event_published_there() -> None:
    document = _document()
    for topic in Topic:
        operation = document["operations"][f"{topic.value}:publish"]
        assert operation["action"] == "send"
        sent = {
            _resolve(document, _resolve(document, m["$ref"])["$ref"])["title"]
            for m in operation["messages"]
        }
        assert sent == {t for t, p in EVENT_CATALOG.items() if p.topic == topic}
    assert CertificateIssued.event_type in {
        _resolve(document, _resolve(document, m["$ref"])["$ref"])["title"]
        for m in document["operations"]["skills.certificate:publish"]["messages"]
    }


def test_each_consumer_receives_exactly_the_events_it_handles() -> None:
    document = _document()
    settings = Settings()
    for consumer in (records_consumer(settings), incentives_consumer(settings, None)):  # type: ignore[arg-type]
        received: set[str] = set()
        for topic in consumer.topics:
            operation = document["operations"][f"{consumer.name}:consume:{topic}Subscribe"]
            assert operation["action"] == "receive"
            for reference in operation["messages"]:
                message = _resolve(document, _resolve(document, reference["$ref"])["$ref"])
                received.add(message["title"])
        assert received == set(consumer.handlers)
    assert not any(name.endswith("SubscribeMessage") for name in document["components"]["messages"])


def _installed_parser() -> Path:
    """The pinned @asyncapi/parser in .cache/asyncapi (installed from npm when missing)."""
    installed = PARSER_PREFIX / "node_modules" / "@asyncapi" / "parser" / "package.json"
    pinned = json.loads(PARSER_PACKAGE.read_text())["dependencies"]["@asyncapi/parser"]
    if not installed.exists() or json.loads(installed.read_text())["version"] != pinned:
        PARSER_PREFIX.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PARSER_PACKAGE, PARSER_PREFIX / "package.json")
        subprocess.run(
            ["npm", "install", "--prefix", str(PARSER_PREFIX), "--no-audit", "--no-fund"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return PARSER_PREFIX


def test_the_official_asyncapi_parser_accepts_the_document(tmp_path: Path) -> None:
    document = tmp_path / "asyncapi.json"
    document.write_text(asyncapi_document())
    result = subprocess.run(
        [
            "node",
            str(Path(__file__).parent / "asyncapi" / "validate.mjs"),
            str(_installed_parser()),
            str(document),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)
    assert report["parsed"], report
    problems = [d for d in report["diagnostics"] if d["severity"] in ("error", "warning")]
    assert problems == []
