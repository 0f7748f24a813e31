"""Bad input gets one shape of answer everywhere: 4xx with a list of {field, rule, message}.

And an unexpected exception still gets an answer: a JSON 500 with a correlation id, logged
by type and code location only (never the message, which may quote the input), and the
connection stays open for the client's next request.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from api.asgi import HttpMiddleware
from policy.errors import NotFound, RuleViolation, RuleViolations, Violation, violations_of
from policy.rule_ids import Rule

log = logging.getLogger("skillflow.api")


class ErrorBody(BaseModel):
    """Every refusal: the rules broken, each naming its field. Never echoes input."""

    errors: list[Violation] = Field(min_length=1)


class ServerErrorBody(ErrorBody):
    correlation_id: str = Field(description="quote it to the operator: the log line has it")


# What every route may answer besides its success (app.py includes each router with it).
ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": ErrorBody, "description": "no bearer token, or an unknown one"},
    403: {"model": ErrorBody, "description": "the token's role or bodies may not do this"},
    404: {"model": ErrorBody, "description": "the object named does not exist"},
    422: {"model": ErrorBody, "description": "bad input: the rules broken, by field"},
}
# Routes anyone may call without a token are rate-limited per client address.
RATE_LIMITED_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    404: ERROR_RESPONSES[404],
    422: ERROR_RESPONSES[422],
    429: {
        "model": ErrorBody,
        "description": "too many calls from this address: wait Retry-After seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}
_HTTP_RULES: Final = {
    401: Rule.AUTH_UNAUTHENTICATED,
    403: Rule.AUTH_FORBIDDEN,
    404: Rule.NOT_FOUND,
    405: "request.method_not_allowed",
    429: "request.rate_limited",
}


def _body(errors: list[dict[str, str]]) -> dict[str, object]:
    return {"errors": errors}


def install_error_handlers(app: FastAPI) -> None:
    app.add_middleware(AnswerUnexpectedErrors)

    @app.exception_handler(StarletteHTTPException)
    async def http_refusal(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # 401, 403, 404 of an unknown path, 405, 429: the same shape as every refusal.
        rule = _HTTP_RULES.get(exc.status_code, f"request.http_{exc.status_code}")
        return JSONResponse(
            status_code=exc.status_code,
            content=_body([{"field": "", "rule": rule, "message": str(exc.detail)}]),
            headers=exc.headers,
        )

    @app.exception_handler(UnicodeEncodeError)
    async def unstorable_text(_: Request, exc: UnicodeEncodeError) -> JSONResponse:
        # A lone surrogate (JSON "\ud800") is valid JSON but no text PostgreSQL can store.
        return JSONResponse(
            status_code=422,
            content=_body(
                [{"field": "", "rule": "request.text_encoding", "message": "not valid Unicode"}]
            ),
        )

    @app.exception_handler(RuleViolation)
    async def rule_violation(_: Request, exc: RuleViolation) -> JSONResponse:
        return JSONResponse(status_code=422, content=_body([exc.as_violation().model_dump()]))

    @app.exception_handler(RuleViolations)
    async def rule_violations(_: Request, exc: RuleViolations) -> JSONResponse:
        return JSONResponse(
            status_code=422, content=_body([v.model_dump() for v in exc.violations])
        )

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Echo no input values: they may hold an ID number.
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p != "body") or "body",
                "rule": f"request.{e['type']}",
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        return JSONResponse(status_code=422, content=_body(errors))

    @app.exception_handler(ValidationError)
    async def command_invalid(_: Request, exc: ValidationError) -> JSONResponse:
        # A request that passed its own model but not the command built from it.
        return JSONResponse(
            status_code=422, content=_body([v.model_dump() for v in violations_of(exc)])
        )

    # Only a NotFound is a 404: any other LookupError (a KeyError, an IndexError) is a bug
    # and stays a 500, instead of reading as "not found".
    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(
            status_code=404,
            content=_body([{"field": "", "rule": Rule.NOT_FOUND, "message": exc.message}]),
        )


class AnswerUnexpectedErrors(HttpMiddleware):
    """ASGI middleware inside Starlette's own error middleware, which answers 500 but then
    re-raises, so uvicorn closed the connection and the client's next request on it was
    reset. Here the exception ends: a JSON 500 with a correlation id, and a log line."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            correlation_id = uuid.uuid4().hex
            route = getattr(scope.get("route"), "path", None) or "(no route)"
            where = " <- ".join(
                f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno} {frame.name}"
                for frame in reversed(traceback.extract_tb(exc.__traceback__)[-6:])
            )
            # The exception's message is left out: asyncpg and pydantic quote input in it.
            log.error(
                "unexpected %s on %s %s [correlation %s] at %s",
                type(exc).__name__,
                scope.get("method", ""),
                route,
                correlation_id,
                where,
            )
            if started:
                return  # the answer is under way; only the log can tell
            answer = JSONResponse(
                status_code=500,
                content=ServerErrorBody(
                    errors=[
                        Violation(
                            field="",
                            rule=Rule.SERVER_UNEXPECTED,
                            message="an unexpected error on the server side. Quote "
                            f"correlation id {correlation_id} to the operator",
                        )
                    ],
                    correlation_id=correlation_id,
                ).model_dump(),
                headers={"X-Correlation-Id": correlation_id},
            )
            await answer(scope, receive, send)
