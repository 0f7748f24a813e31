"""Commands that act through SkillFlow's HTTP API: the options they share and the call they make.

Every such command takes ``--data-dir``, ``--api-url`` and (most) ``--token`` after its own
arguments, where scripts, tests and the README put them. Typer has no option group a command
can inherit, so :func:`api_command` adds the three to each command's signature and hands the
command one :class:`ApiAccess` instead of repeating them in thirty signatures.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

DataDir = Annotated[
    Path,
    typer.Option("--data-dir", help="Folder holding the local stack's data, logs and stack.json"),
]
ApiUrl = Annotated[
    str | None, typer.Option("--api-url", help="SkillFlow API (default: the local stack's)")
]
DEFAULT_DATA_DIR = Path(".skillflow")
BEARER_HELP = "bearer token (default: stack.json)"
OPERATOR_HELP = "operator bearer token (default: stack.json)"


def describe_errors(errors: list[dict[str, Any]]) -> str:
    """A refusal's named errors on one line, as every command prints them."""
    return "; ".join(f"{e['field']}: {e['message']} [{e['rule']}]" for e in errors)


@dataclass(frozen=True)
class ApiAccess:
    """Where the API is and who calls it, from a command's --data-dir, --api-url, --token."""

    data_dir: Path
    api_url: str | None
    token: str | None = None

    def address(self) -> tuple[str, dict[str, str]]:
        """The API's address and the role tokens: from the options, else from stack.json."""
        from skillflow.cli import _api_address

        return _api_address(self.data_dir, self.api_url)

    def call(
        self, method: str, path: str, role: str, *, body: Any = None, csv_file: Path | None = None
    ) -> Any:
        """The API's answer as ``role`` (stack.json's token unless --token); a refusal is
        printed with its status and the command exits 1."""
        import httpx

        from skillflow.cli import _exit, _fail

        url, tokens = self.address()
        bearer = self.token or tokens.get(role)
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        content = None
        if csv_file is not None:
            try:
                content = csv_file.read_bytes()
            except OSError as exc:
                _fail(f"cannot read {csv_file}: {exc.strerror}", 2)
            headers["Content-Type"] = "text/csv"
        response = httpx.request(
            method, f"{url}{path}", headers=headers, json=body, content=content, timeout=600
        )
        if path.endswith(".csv") and method == "GET" and response.status_code == 200:
            return response.text
        answer = response.json()
        if response.status_code >= 400:
            errors = answer.get("errors") if isinstance(answer, dict) else None
            if errors:
                text = describe_errors(errors)
            else:
                text = str(answer.get("detail", answer) if isinstance(answer, dict) else answer)
            typer.echo(f"{response.status_code}: {text}", err=True)
            _exit(1)
        return answer

    def operate(self, method: str, path: str, reason: str | None = None) -> Any:
        """The API's answer to an operator's call (a repair carries its reason); a refusal
        ends the command with its named errors."""
        import httpx

        from skillflow.cli import _fail

        url, tokens = self.address()
        bearer = self.token or tokens.get("operator")
        if not bearer:
            _fail("pass --token with an operator token", 2)
        response = httpx.request(
            method,
            f"{url}{path}",
            headers={"Authorization": f"Bearer {bearer}"},
            json={"reason": reason} if reason is not None else None,
            timeout=60,
        )
        answer = response.json()
        if response.status_code >= 400:
            errors = answer.get("errors") if isinstance(answer, dict) else None
            if errors:
                _fail(describe_errors(errors), 1)
            _fail(f"{response.status_code}: {answer}", 1)
        return answer


Command = Callable[..., None]


def api_command(
    group: typer.Typer, name: str, *, token_help: str | None = BEARER_HELP
) -> Callable[[Command], Command]:
    """Register ``command(access, ...)`` as ``name`` in ``group`` with its own parameters
    followed by --data-dir, --api-url and (unless ``token_help`` is None) --token.
    The undecorated function is returned, so one command can run another's body."""

    def register(command: Command) -> Command:
        own = list(inspect.signature(command, eval_str=True).parameters.values())[1:]
        keyword = inspect.Parameter.KEYWORD_ONLY
        shared = [
            inspect.Parameter("data_dir", keyword, annotation=DataDir, default=DEFAULT_DATA_DIR),
            inspect.Parameter("api_url", keyword, annotation=ApiUrl, default=None),
        ]
        if token_help is not None:
            token = Annotated[str | None, typer.Option("--token", help=token_help)]
            shared.append(inspect.Parameter("token", keyword, annotation=token, default=None))

        @functools.wraps(command)
        def run(
            *args: Any, data_dir: Path, api_url: str | None, token: str | None = None, **kw: Any
        ) -> None:
            command(ApiAccess(data_dir, api_url, token), *args, **kw)

        parameters = [*own, *shared]
        # typer reads both: the signature for the order, the annotations for the types.
        run.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
        group.command(name)(run)
        return command

    return register
