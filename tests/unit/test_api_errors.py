"""The API's error answers: a NotFound is a 404, any other LookupError a 500."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.errors import install_error_handlers
from policy.errors import NotFound
from policy.rule_ids import Rule


def _client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/missing")
    async def missing() -> None:
        raise NotFound("no session with this id")

    @app.get("/bug")
    async def bug() -> None:
        figures: dict[str, int] = {}
        figures["pass_mark"] += 1

    return TestClient(app, raise_server_exceptions=False)


def test_not_found_is_a_404_naming_what_is_missing() -> None:
    response = _client().get("/missing")
    assert response.status_code == 404
    assert response.json() == {
        "errors": [{"field": "", "rule": Rule.NOT_FOUND, "message": "no session with this id"}]
    }


def test_a_key_error_is_a_server_error_not_a_404() -> None:
    assert _client().get("/bug").status_code == 500
