"""What the API does with input before and around its routes: NUL characters refused, an
unexpected exception answered (not a reset connection), anonymous calls rate-limited, and
a holder's name compared in one place."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.errors import install_error_handlers
from api.rate_limit import PublicRateLimit
from api.text_guard import RefuseNulCharacters
from api.verification import HolderName, holder_name_matches
from policy.rule_ids import Rule
from skillflow.stack.process import free_port

SECRET = "110101199003074578"


def door_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(RefuseNulCharacters)
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError(f"a message quoting input {SECRET}")

    @app.get("/fine/{name}")
    async def fine(name: str, q: str = "") -> dict[str, str]:
        return {"name": name, "q": q}

    @app.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    return app


async def call(method: str, url: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=door_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://door") as client:
        return await client.request(method, url, **kwargs)  # type: ignore[arg-type]


async def test_an_unexpected_exception_answers_json_500_with_a_correlation_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="skillflow.api"):
        answer = await call("GET", "/boom")
    assert answer.status_code == 500
    body = answer.json()
    assert body["errors"][0]["rule"] == Rule.SERVER_UNEXPECTED
    assert body["correlation_id"] == answer.headers["x-correlation-id"]
    assert body["correlation_id"] in body["errors"][0]["message"]
    [record] = [r for r in caplog.records if r.name == "skillflow.api"]
    logged = record.getMessage()
    assert "RuntimeError" in logged and body["correlation_id"] in logged
    assert SECRET not in logged and SECRET not in answer.text


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="critical", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def test_after_a_500_the_same_connection_answers_the_next_request() -> None:
    # Starlette re-raises after its own 500, and uvicorn then closed the connection.
    async with served(door_app()) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = "GET {} HTTP/1.1\r\nHost: door\r\n\r\n"
        writer.write((request.format("/boom") + request.format("/fine/ok")).encode())
        await writer.drain()
        answers = []
        for _ in range(2):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            answers.append((head.split(b" ")[1], json.loads(await reader.readexactly(length))))
        writer.close()
    assert [status for status, _ in answers] == [b"500", b"200"]
    assert answers[1][1] == {"name": "ok", "q": ""}


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("GET", "/fine/a%00b", None, "path"),
        ("GET", "/fine/ok?q=a%00", None, "query"),
        ("POST", "/echo", b'{"name": "a\\u0000b"}', "body"),
        ("POST", "/echo", b'{"name": "a\x00b"}', "body"),
    ],
)
async def test_a_nul_character_is_refused_at_the_door(
    method: str, url: str, body: bytes | None, field: str
) -> None:
    headers = {"content-type": "application/json"} if body else {}
    answer = await call(method, url, content=body, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {
            "field": field,
            "rule": "request.nul_character",
            "message": "text may not contain a NUL character",
        }
    ]


async def test_an_escaped_backslash_before_u0000_is_plain_text() -> None:
    answer = await call(
        "POST",
        "/echo",
        content=b'{"name": "a\\\\u0000"}',
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 200 and answer.json() == {"name": "a\\u0000"}


async def test_http_refusals_take_the_error_shape() -> None:
    answer = await call("GET", "/nowhere")
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["rule"] == Rule.NOT_FOUND


# --- the rate limit ------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_asks_to_wait_and_refills() -> None:
    clock = Clock()
    limit = PublicRateLimit(per_minute=6, burst=3, clock=clock)
    assert [limit.take("10.0.0.1") for _ in range(3)] == [None, None, None]
    wait = limit.take("10.0.0.1")
    assert wait == pytest.approx(10.0)  # one call per 10 s
    assert limit.take("10.0.0.2") is None  # another address has its own bucket
    clock.now += 10
    assert limit.take("10.0.0.1") is None
    assert limit.take("10.0.0.1") is not None
    assert limit.refused == 2


def test_a_refused_address_is_logged_once_per_spell(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    limit = PublicRateLimit(per_minute=60, burst=1, clock=clock)
    with caplog.at_level(logging.WARNING, logger="skillflow.api"):
        for _ in range(5):
            limit.take("10.0.0.9")
    assert limit.refused == 4
    assert len([r for r in caplog.records if "10.0.0.9" in r.getMessage()]) == 1


# --- the holder's name ---------------------------------------------------------------------


def test_a_holder_name_matches_the_clear_name_as_typed() -> None:
    on_record = HolderName(masked="张**", clear="张三丰")
    assert holder_name_matches("张三丰", on_record)
    assert holder_name_matches(" 张 三丰 ", on_record)
    assert not holder_name_matches("张三", on_record)
    assert not holder_name_matches("张**", on_record)  # the mask is no name
    assert holder_name_matches("ＬＩ Ｌｅｉ", HolderName(masked="L*****", clear="li lei"))


def test_without_a_clear_name_the_given_name_must_mask_to_the_record() -> None:
    on_record = HolderName(masked="周*")
    assert holder_name_matches("周杰", on_record)
    assert not holder_name_matches("周杰伦", on_record)
    assert not holder_name_matches("吴杰", on_record)
