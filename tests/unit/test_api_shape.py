"""The API's shape, read from its code: every route says what it answers (a model in the
OpenAPI document, not an untyped object), no module under ``api/`` speaks SQL (reads and
writes go through the ``store/`` query modules), and a signed document leaves the API
exactly as it was built."""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.app import create_app
from api.views import DidDocument, OpenBadgeCredential, StatusListCredential
from credentials.keys import did_document
from credentials.open_badge import body_issuer, certificate_credential, status_list_credential
from skillflow.settings import Settings
from tests.unit.test_credentials import BASE, FACTS, new_key, signed

API = Path(__file__).resolve().parents[2] / "api"

# SQL as the store modules write it: upper-case keywords in the statement's order.
SQL = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+INTO\b|\bDELETE\s+FROM\b|\bUPDATE\s+\S+\s+SET\b"
    r"|\bSELECT\s+(true|1|count|pg_)"
)


def untyped_answers(spec: dict[str, Any]) -> list[str]:
    """Operations whose 2xx JSON answer names no schema of the document's components."""
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for code, response in operation.get("responses", {}).items():
                if not code.startswith("2"):
                    continue
                for media_type, media in response.get("content", {}).items():
                    if "json" in media_type and "$ref" not in json.dumps(media.get("schema", {})):
                        found.append(f"{method.upper()} {path} {code}")
    return found


def test_every_json_answer_is_a_model() -> None:
    assert untyped_answers(create_app(Settings()).openapi()) == []


def test_the_check_finds_an_untyped_answer() -> None:
    app = FastAPI()

    @app.get("/typed")
    def typed() -> DidDocument:
        raise NotImplementedError

    @app.get("/untyped")
    def untyped() -> dict[str, Any]:
        raise NotImplementedError

    assert untyped_answers(app.openapi()) == ["GET /untyped 200"]


def sql_literals(source: str) -> list[str]:
    return [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value)
    ]


def test_no_module_under_api_holds_sql() -> None:
    holding = {
        str(path.relative_to(API)): sql_literals(path.read_text(encoding="utf-8"))
        for path in sorted(API.rglob("*.py"))
    }
    assert {name: found for name, found in holding.items() if found} == {}


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT true FROM certification.certificates WHERE certificate_number = $1",
        "SELECT count(*) FROM delivery.dead_letters WHERE status = 'open'",
        "SELECT true",
        """INSERT INTO certification.prior_certificates (certificate_number) VALUES ($1)""",
        "DELETE FROM operations.activity_retries WHERE workflow_id = $1",
        "UPDATE outbox.events SET sent_at = NULL WHERE event_id = $1",
    ],
)
def test_the_check_finds_sql(statement: str) -> None:
    assert sql_literals(f"QUERY = {statement!r}\n") == [statement]


def test_the_check_passes_prose() -> None:
    prose = '"""Select the sessions from a body; insert nothing, delete nothing."""\n'
    assert sql_literals(prose) == []


# --- signed documents ------------------------------------------------------------------


def _documents() -> list[tuple[type[BaseModel], dict[str, Any]]]:
    key = new_key()
    issuer = body_issuer(BASE, FACTS.body_id)
    revocations = status_list_credential(
        BASE, FACTS.body_id, 0, [9], datetime(2026, 11, 30, tzinfo=UTC)
    )
    return [
        (OpenBadgeCredential, signed(certificate_credential(FACTS, BASE), key, issuer)),
        (StatusListCredential, signed(revocations, key, issuer)),
        (DidDocument, did_document(issuer, [key])),
    ]


@pytest.mark.parametrize(("model", "document"), _documents())
async def test_a_signed_document_leaves_the_api_byte_for_byte(
    model: type[BaseModel], document: dict[str, Any]
) -> None:
    """The route validates the document into its model; the bytes sent are those the
    document had before (same keys, same order, nothing added), so the proof verifies."""
    app = FastAPI()

    @app.get("/document", response_model=model)
    def answer() -> BaseModel:
        return model.model_validate(document)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        sent = (await client.get("/document")).content
    assert sent == JSONResponse(document).body
