"""The committed AsyncAPI document is the event contract: it must match the code."""

from __future__ import annotations

import json
from pathlib import Path

from consumers.asyncapi import asyncapi_document
from schemas.payloads import (
    CertificateIssued,
)

COMMITTED = Path(__file__).resolve().parents[2] / "asyncapi.json"


def test_committed_asyncapi_matches_the_code() -> None:
    generated = asyncapi_document()
    committed = COMMITTED.read_text().strip()
    assert generated == committed, (
        "asyncapi.json drifted from the consumers and the event catalog: review the change, "
        "then regenerate with `skillflow asyncapi --output asyncapi.json`"
    )


def test_asyncapi_documents_every_topic_and_its_dead_letter_twin() -> None:
    document = json.loads(asyncapi_document())
    addresses = {channel["address"] for channel in document["channels"].values()}
    for topic in [
        "skills.registration",
        "skills.assessment",
        "skills.certificate",
        "skills.evaluation-body",
        "skills.competition",
        "skills.incentive",
    ]:
        assert topic in addresses and f"{topic}.dlq" in addresses
    assert "EventEnvelope" in document["components"]["schemas"]
    assert CertificateIssued.event_type in document["x-event-catalog"]
