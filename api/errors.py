"""Bad input gets one shape of answer everywhere: 422 with a list of {field, rule, message}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from policy.errors import NotFound, RuleViolation, RuleViolations, Violation
from policy.rule_ids import Rule


def _body(errors: list[dict[str, str]]) -> dict[str, object]:
    return {"errors": errors}


def violations_of(exc: ValidationError) -> list[Violation]:
    """A model's validation errors as broken rules, without the input values: a bad row
    or command may carry an ID number in any field."""
    return [
        Violation(
            field=".".join(str(p) for p in error["loc"]) or "body",
            rule=f"request.{error['type']}",
            message=error["msg"],
        )
        for error in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
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
