"""The ``skillflow`` command."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from skillflow.api_commands import (
    DEFAULT_DATA_DIR,
    OPERATOR_HELP,
    ApiAccess,
    ApiUrl,
    DataDir,
    api_command,
)
from skillflow.settings import Settings, SettingsError, load_settings
from skillflow.stack.process import StackError

app = typer.Typer(
    help="SkillFlow: vocational skill evaluation, certification and competitions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

SettingsFile = Annotated[
    Path | None,
    typer.Option(
        "--settings-file", help="KEY=value file of SKILLFLOW_* settings (environment wins)"
    ),
]


def _exit(code: int) -> None:
    """End the process explicitly: a Temporal client torn down by the interpreter at exit can
    abort it (temporalio/sdk-python#300), so roles and commands leave with os._exit."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"skillflow: {message}", err=True)
    _exit(code)


def _settings(settings_file: Path | None) -> Settings:
    try:
        return load_settings(settings_file)
    except SettingsError as exc:
        _fail(str(exc))
        raise  # unreachable


def _run_role(
    role: Callable[[Settings, asyncio.Event], Awaitable[None]], settings: Settings, name: str
) -> None:
    from skillflow.logs import configure_logging

    configure_logging(settings, name)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await role(settings, stop)

    try:
        asyncio.run(main())
    except (OSError, StackError) as exc:
        _fail(f"{type(exc).__name__}: {exc}", 1)
    _exit(0)


@app.command()
def up(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_port: Annotated[int, typer.Option(help="HTTP API and operator page")] = 8000,
    temporal_port: Annotated[int, typer.Option(help="Temporal frontend (gRPC)")] = 7233,
    temporal_ui_port: Annotated[int, typer.Option(help="Temporal Web UI")] = 8233,
    temporal_http_port: Annotated[int, typer.Option(help="Temporal HTTP API")] = 7243,
    kafka_port: Annotated[int, typer.Option(help="Kafka-compatible broker")] = 19092,
    postgres_port: Annotated[int, typer.Option(help="PostgreSQL")] = 15432,
    worker_health_port: Annotated[int, typer.Option(help="worker health endpoint")] = 8001,
    consumers_health_port: Annotated[int, typer.Option(help="consumers health endpoint")] = 8002,
    worker_sdk_metrics_port: Annotated[
        int, typer.Option(help="the worker's Temporal SDK metrics (also on its /metrics)")
    ] = 8003,
    headless: Annotated[bool, typer.Option(help="Do not serve the Temporal Web UI")] = False,
    workers: Annotated[
        int, typer.Option(min=1, max=16, help="worker processes sharing the task queue")
    ] = 1,
    consumers: Annotated[
        int, typer.Option(min=1, max=16, help="consumer processes sharing the partitions")
    ] = 1,
) -> None:
    """Start the whole service on the embedded local stack, in the foreground (Ctrl-C stops it).
    A process that exits is restarted; stack.json names every process and its pid."""
    from skillflow.stack.local import LocalStack, StackPorts

    ports = StackPorts(
        api=api_port,
        temporal=temporal_port,
        temporal_ui=temporal_ui_port,
        temporal_http=temporal_http_port,
        kafka=kafka_port,
        postgres=postgres_port,
        worker_health=worker_health_port,
        consumers_health=consumers_health_port,
        worker_sdk_metrics=worker_sdk_metrics_port,
    )
    stack = LocalStack(data_dir, ports, ui=not headless, workers=workers, consumers=consumers)
    try:
        code = stack.run()
    except StackError as exc:
        _fail(str(exc), 1)
        return
    typer.echo("SkillFlow stopped.")
    _exit(code)


@app.command()
def worker(settings_file: SettingsFile = None) -> None:
    """Run the Temporal worker (every workflow and activity) and the outbox relay."""
    from skillflow.worker import run_worker

    _run_role(run_worker, _settings(settings_file), "worker")


@app.command()
def consumers(settings_file: SettingsFile = None) -> None:
    """Run the Kafka consumers: the records service and the incentive service."""
    from consumers.app import run_consumers

    _run_role(run_consumers, _settings(settings_file), "consumers")


@app.command()
def api(settings_file: SettingsFile = None) -> None:
    """Run the HTTP API (OpenAPI at /docs, operator page at /operator)."""
    from api.server import run_api

    _run_role(run_api, _settings(settings_file), "api")


@app.command()
def status(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    max_lag: Annotated[
        int, typer.Option(min=0, help="unhealthy when a partition's consumer lag exceeds this")
    ] = 1000,
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", help="a deployed API instead of the local stack in DATA_DIR"),
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="operator bearer token (default: stack.json)")
    ] = None,
) -> None:
    """The console's summary: roles, reach, workflows, lag, late work, dead letters. Exits 1
    when a role is down or not ready, a server is unreachable or lag exceeds --max-lag."""
    from skillflow.stack.local import read_stack_file
    from skillflow.stack.status import print_status

    if api_url is not None:
        addresses: dict[str, Any] = {"api": api_url.rstrip("/")}
    else:
        try:
            addresses = read_stack_file(data_dir)
        except StackError as exc:
            _fail(f"{exc} (or pass --api-url and --token)", 1)
            return
    _exit(0 if print_status(addresses, max_lag=max_lag, token=token) else 1)


@app.command()
def demo(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    candidates: Annotated[int, typer.Option(min=1, max=2000, help="candidates to register")] = 36,
) -> None:
    """Drive a realistic scenario through the running service and print what happened."""
    from skillflow.demo import run_demo
    from skillflow.stack.local import read_stack_file

    try:
        addresses = read_stack_file(data_dir)
        ok = asyncio.run(run_demo(addresses, candidates))
    except StackError as exc:
        _fail(str(exc), 1)
        return
    _exit(0 if ok else 1)


def _api_address(data_dir: Path, api_url: str | None) -> tuple[str, dict[str, str]]:
    """The API's address and the role tokens: from the options, else from stack.json."""
    if api_url is not None:
        return api_url, {}
    from skillflow.stack.local import read_stack_file

    try:
        addresses = read_stack_file(data_dir)
    except StackError as exc:
        _fail(f"{exc} (or pass --api-url)", 1)
        raise
    return str(addresses["api"]), dict(addresses["tokens"])


@api_command(app, "verify", token_help=None)
def verify(
    access: ApiAccess,
    certificate_number: Annotated[
        str | None, typer.Argument(help="22-character certificate number")
    ] = None,
    credential: Annotated[
        Path | None,
        typer.Option(help="a saved credential (JSON) to check instead of a number"),
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option(help="saved key set (SkillFlow's did.json) for checking offline"),
    ] = None,
    status_list: Annotated[
        Path | None, typer.Option(help="saved status list credential, for checking offline")
    ] = None,
    offline: Annotated[bool, typer.Option(help="never fetch the key set or status list")] = False,
    holder_name: Annotated[
        str | None,
        typer.Option(
            "--holder-name",
            help="the holder's name as printed: with it, the masked name, body and issue date",
        ),
    ] = None,
) -> None:
    """Verify a certificate number, as anyone may (全国联网查询): valid, revoked or unknown,
    with the occupation and level (the holder's details need --holder-name too); or check
    a signed credential: its signature against the key set and its revocation in the status
    list, from saved files offline and fetched when reachable."""
    if credential is not None:
        _verify_credential(credential, keys, status_list, offline)
        return
    if certificate_number is None:
        _fail("give a certificate number or --credential FILE", 2)
        return
    import httpx

    url, _ = access.address()
    if holder_name is None:
        response = httpx.get(f"{url}/certificates/{certificate_number}", timeout=10)
    else:
        response = httpx.post(
            f"{url}/certificates/{certificate_number}/verification",
            json={"holder_name": holder_name},
            timeout=10,
        )
    body = response.json()
    if response.status_code != 200:
        errors = body.get("errors", [{}])
        _fail("; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors), 1)
    for key, value in body.items():
        typer.echo(f"{key:<20} {value}")
    matched = holder_name is None or body.get("holder_name_matches") is True
    _exit(0 if body.get("status") == "valid" and matched else 1)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    import json

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _fail(f"cannot read the {what} {path}: {exc}", 2)
        raise
    if not isinstance(document, dict):
        _fail(f"the {what} {path} is not a JSON object", 2)
    return dict(document)


def _fetch_json(url: str) -> dict[str, Any] | None:
    """A published document, or None when it cannot be reached (then saved files count)."""
    import httpx

    try:
        response = httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    document = response.json()
    return document if isinstance(document, dict) else None


def _verify_credential(
    path: Path, keys_file: Path | None, status_file: Path | None, offline: bool
) -> None:
    from credentials.keys import did_document_url
    from credentials.proofs import ProofError, proof_of
    from credentials.verification import KeySet, check_credential

    document = _read_json(path, "credential")
    try:
        method = str(proof_of(document).get("verificationMethod", ""))
    except ProofError as exc:
        _fail(f"not a SkillFlow credential: {exc}", 1)
        return
    signer = method.partition("#")[0]
    # SkillFlow's own DID: the key set (a body's DID is SkillFlow's host plus :bodies:ID).
    skillflow_did = signer.split(":bodies:")[0]
    did_doc, keys_from = None, "saved"
    if not offline:
        did_doc = _fetch_json(did_document_url(skillflow_did))
        keys_from = "fetched"
    if did_doc is None and keys_file is not None:
        did_doc, keys_from = _read_json(keys_file, "key set"), "saved"
    if did_doc is None:
        _fail("no key set: pass --keys FILE (a saved did.json) or check online", 2)
        return
    entry = document.get("credentialStatus")
    list_url = entry.get("statusListCredential") if isinstance(entry, dict) else None
    status_doc, status_from = None, "saved"
    if not offline and isinstance(list_url, str):
        status_doc = _fetch_json(list_url)
        status_from = "fetched"
    if status_doc is None and status_file is not None:
        status_doc, status_from = _read_json(status_file, "status list"), "saved"
    check = check_credential(document, KeySet.from_did_document(did_doc), status_doc)
    subject = document.get("credentialSubject", {})
    achievement = subject.get("achievement", {}) if isinstance(subject, dict) else {}
    issuer = document.get("issuer", {})
    typer.echo(f"{'credential':<12} {document.get('name', '')}")
    typer.echo(f"{'issuer':<12} {issuer.get('name', '') if isinstance(issuer, dict) else issuer}")
    typer.echo(f"{'achievement':<12} {achievement.get('name', '')}")
    typer.echo(f"{'signature':<12} {check.signature} (key {check.key_id}, key set {keys_from})")
    shown = check.status if status_doc is None else f"{check.status} (status list {status_from})"
    typer.echo(f"{'status':<12} {shown}")
    for problem in check.problems:
        typer.echo(f"  - {problem}")
    _exit(0 if check.verified else 1)


dead_letters = typer.Typer(help="List, replay and discard messages the consumers gave up on.")
app.add_typer(dead_letters, name="dead-letters")


Token = Annotated[
    str | None, typer.Option("--token", help="operator bearer token (default: stack.json)")
]
Reason = Annotated[str, typer.Option("--reason", help="why (kept in the audit log)")]


@api_command(dead_letters, "list", token_help=OPERATOR_HELP)
def dead_letters_list(
    access: ApiAccess,
    status: Annotated[str, typer.Option(help="open, replayed or discarded")] = "open",
) -> None:
    """Dead letters with their consumer, origin and error."""
    from rich.markup import escape

    rows = access.operate("GET", f"/operations/dead-letters?status={status}&limit=1000")
    table = _operator_table(
        f"{len(rows)} {status} dead letter(s)",
        ("id", "consumer", "origin", "event", "error", "since"),
    )
    for row in rows:
        origin = f"{row['topic']}[{row['kafka_partition']}]@{row['kafka_offset']}"
        table.add_row(
            str(row["id"]),
            row["consumer"],
            origin,
            row["event_type"] or "(unparseable)",
            escape(row["error"]),
            row["created_at"][:19],
        )
    _print_table(table)


def _operator_table(title: str, columns: tuple[str, ...]) -> Any:
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    return table


def _print_table(table: Any) -> None:
    from rich.console import Console

    Console().print(table)
    _exit(0)


@api_command(dead_letters, "replay", token_help=OPERATOR_HELP)
def dead_letters_replay(access: ApiAccess, dead_letter_id: int, reason: Reason) -> None:
    """Apply a dead letter again through its consumer (after a fix); it stays open if it fails."""
    path = f"/operations/dead-letters/{dead_letter_id}/replay"
    result = access.operate("POST", path, reason)
    typer.echo(
        f"dead letter {dead_letter_id}: {result['status']}"
        + (f" ({result['error']})" if result.get("error") else "")
    )
    _exit(0 if result["status"] == "replayed" else 1)


@api_command(dead_letters, "discard", token_help=OPERATOR_HELP)
def dead_letters_discard(access: ApiAccess, dead_letter_id: int, reason: Reason) -> None:
    """Close a dead letter without applying it (it is kept, marked discarded)."""
    access.operate("POST", f"/operations/dead-letters/{dead_letter_id}/discard", reason)
    typer.echo(f"dead letter {dead_letter_id}: discarded")
    _exit(0)


repair = typer.Typer(
    help="Repair running work through the API, as the operator console does; every repair "
    "is kept in the audit log with who and why."
)
app.add_typer(repair, name="repair")


def _repair(access: ApiAccess, path: str, reason: str) -> None:
    """Ask for a repair and print what the API did."""
    result = access.operate("POST", path, reason)
    for key, value in result.items():
        typer.echo(f"{key:<16} {value}")
    _exit(0)


@api_command(repair, "reset", token_help=OPERATOR_HELP)
def repair_reset(access: ApiAccess, workflow_id: str, reason: Reason) -> None:
    """Retry a failed (or stuck) activity's workflow: reset it to the last good point."""
    _repair(access, f"/operations/workflows/{workflow_id}/reset", reason)


@api_command(repair, "terminate", token_help=OPERATOR_HELP)
def repair_terminate(access: ApiAccess, workflow_id: str, reason: Reason) -> None:
    """Terminate a running workflow, with the reason in its history and the audit log."""
    _repair(access, f"/operations/workflows/{workflow_id}/terminate", reason)


@api_command(repair, "recheck", token_help=OPERATOR_HELP)
def repair_recheck(access: ApiAccess, workflow_id: str, reason: Reason) -> None:
    """Signal a held issuance to check its body now (after the body was reinstated)."""
    _repair(access, f"/operations/workflows/{workflow_id}/recheck", reason)


@api_command(repair, "replay", token_help=OPERATOR_HELP)
def repair_replay(access: ApiAccess, dead_letter_id: int, reason: Reason) -> None:
    """Replay a dead letter through its consumer (same as `dead-letters replay`)."""
    dead_letters_replay(access, dead_letter_id, reason)


@api_command(repair, "discard", token_help=OPERATOR_HELP)
def repair_discard(access: ApiAccess, dead_letter_id: int, reason: Reason) -> None:
    """Discard a dead letter, keeping it (same as `dead-letters discard`)."""
    dead_letters_discard(access, dead_letter_id, reason)


@api_command(repair, "republish", token_help=OPERATOR_HELP)
def repair_republish(access: ApiAccess, event_id: str, reason: Reason) -> None:
    """Publish an outbox event again by its id (consumers drop it if already applied)."""
    _repair(access, f"/operations/outbox/{event_id}/republish", reason)


@api_command(repair, "log", token_help=OPERATOR_HELP)
def repair_log(
    access: ApiAccess, limit: Annotated[int, typer.Option(min=1, max=1000)] = 50
) -> None:
    """The audit log of repairs: when, who, what, why, outcome."""
    from rich.markup import escape

    rows = access.operate("GET", f"/operations/repairs?limit={limit}")
    table = _operator_table(
        f"{len(rows)} repair(s)", ("when", "who", "action", "target", "why", "outcome")
    )
    for row in rows:
        table.add_row(
            row["requested_at"][:19],
            escape(row["requested_by"]),
            row["action"],
            escape(row["target"]),
            escape(row["reason"]),
            row["outcome"],
        )
    _print_table(table)


tokens = typer.Typer(
    help="Create, list and revoke the API's bearer tokens (stored as digests in PostgreSQL)."
)
app.add_typer(tokens, name="tokens")


def _tokens_database(data_dir: Path, settings_file: Path | None) -> str:
    """The local stack's PostgreSQL when it runs in DATA_DIR and no settings are given;
    otherwise the settings' (file or SKILLFLOW_* environment)."""
    if settings_file is None and "SKILLFLOW_POSTGRES_DSN" not in os.environ:
        from skillflow.stack.local import read_stack_file

        try:
            return str(read_stack_file(data_dir)["postgres"])
        except StackError:
            pass
    return _settings(settings_file).postgres_dsn


def _with_tokens_table(dsn: str, action: Callable[[Any], Awaitable[object]]) -> object:
    import asyncpg

    from store.database import apply_migrations

    async def run() -> object:
        try:
            conn = await asyncpg.connect(dsn, timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            _fail(f"cannot reach PostgreSQL ({type(exc).__name__}): is the stack running?", 1)
            raise
        try:
            await apply_migrations(conn)
            return await action(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


@tokens.command("create")
def tokens_create(
    role: Annotated[
        str,
        typer.Option(
            help="centre, enterprise, organiser, judge, regulator, records_officer or operator"
        ),
    ],
    name: Annotated[str, typer.Option(help="the holder, as audit trails record them")],
    body: Annotated[
        list[str] | None,
        typer.Option(
            help="a body the token acts for (repeat; centres, enterprises, organisers "
            "and judges need one or more)"
        ),
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    settings_file: SettingsFile = None,
) -> None:
    """Create a token; it is printed once, alone on the last line, and kept only as a digest."""
    import getpass

    from policy.errors import RuleViolation
    from skillflow.settings import Role
    from store.tokens import create_token

    try:
        chosen = Role(role)
    except ValueError:
        _fail(f"--role must be one of {', '.join(r.value for r in Role)}", 2)
        raise
    if not 1 <= len(name) <= 64:
        _fail("--name must be 1-64 characters", 2)
    dsn = _tokens_database(data_dir, settings_file)

    async def create(conn: Any) -> object:
        return await create_token(
            conn, role=chosen, name=name, bodies=body or [], created_by=f"cli:{getpass.getuser()}"
        )

    try:
        token = _with_tokens_table(dsn, create)
    except RuleViolation as exc:
        _fail(f"{exc.field}: {exc.message} [{exc.rule}]", 2)
        raise
    scope = f" for {', '.join(body)}" if body else ""
    typer.echo(f"token for {name} ({chosen.value}{scope}); it is shown only this once:")
    typer.echo(str(token))
    _exit(0)


@tokens.command("list")
def tokens_list(
    revoked: Annotated[bool, typer.Option(help="also list revoked tokens")] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    settings_file: SettingsFile = None,
) -> None:
    """Every token's holder, role and bodies (never the token)."""
    from rich.console import Console
    from rich.table import Table

    from store.tokens import StoredToken, list_tokens

    async def read(conn: Any) -> object:
        return await list_tokens(conn, include_revoked=revoked)

    rows = _with_tokens_table(_tokens_database(data_dir, settings_file), read)
    assert isinstance(rows, list)
    table = Table(title=f"{len(rows)} token(s)")
    # The name is what revoking takes: other columns wrap before it is ever cut short.
    names = [row.name for row in rows if isinstance(row, StoredToken)]
    table.add_column("name", no_wrap=True, min_width=max(map(len, names), default=4))
    for column in ("role", "bodies", "created", "by", "revoked"):
        table.add_column(column)
    for row in rows:
        assert isinstance(row, StoredToken)
        table.add_row(
            row.name,
            row.role.value,
            ", ".join(row.bodies) or "(all)",
            row.created_at.isoformat(timespec="seconds"),
            row.created_by,
            row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else "",
        )
    Console().print(table)
    _exit(0)


@tokens.command("revoke")
def tokens_revoke(
    name: Annotated[str, typer.Argument(help="the holder whose live token is revoked")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    settings_file: SettingsFile = None,
) -> None:
    """Revoke NAME's token: the API refuses it (401) from the next request on."""
    import getpass

    from store.tokens import revoke_token

    async def revoke(conn: Any) -> object:
        return await revoke_token(conn, name, revoked_by=f"cli:{getpass.getuser()}")

    if not _with_tokens_table(_tokens_database(data_dir, settings_file), revoke):
        _fail(f"{name} holds no live token", 1)
    typer.echo(f"revoked the token of {name}")
    _exit(0)


from skillflow.competition_cli import competition  # noqa: E402  (after _api_address)

app.add_typer(competition, name="competition")

imports = typer.Typer(
    help="Import a session's registrations or scores, or prior certificates, from a CSV file."
)
app.add_typer(imports, name="import")


def _import_job(
    kind: str,
    session_id: str,
    csv_file: Path,
    data_dir: Path,
    api_url: str | None,
    token: str | None,
) -> None:
    """Post a session's CSV file as an import job, follow it with a progress bar, print the
    refused rows with their rules and the summary; exit 1 if any row was refused."""
    import httpx
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from skillflow.imports import finished_rows

    url, tokens = _api_address(data_dir, api_url)
    bearer = token or tokens.get("centre")
    if not bearer:
        _fail("pass --token with a centre or enterprise token", 2)
        return
    try:
        content = csv_file.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {csv_file}: {exc.strerror}", 2)
        raise
    headers = {"Authorization": f"Bearer {bearer}"}

    async def follow() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
            answer = await http.post(
                f"/sessions/{session_id}/{kind}.csv",
                content=content,
                headers={"Content-Type": "text/csv"},
            )
            body = answer.json()
            if answer.status_code >= 400:
                _fail(_refusal(body), 1)
            job: dict[str, Any] = body

            async def read(path: str, params: dict[str, int]) -> dict[str, Any]:
                polled = await http.get(path, params=params)
                if polled.status_code >= 400:
                    _fail(_refusal(polled.json()), 1)
                found: dict[str, Any] = polled.json()
                return found

            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            ) as bar:
                task = bar.add_task(f"job {job['job_id']}", total=job["progress"]["total"])

                def show(progress: dict[str, int]) -> None:
                    bar.update(task, completed=progress["done"])

                rows = await finished_rows(read, job, on_progress=show, poll_seconds=0.5)
            return job, rows

    job, rows = asyncio.run(follow())
    console = Console()
    refused = [row for row in rows if row["status"] == "rejected"]
    for row in refused:
        reasons = "; ".join(f"{e['field']}: {e['message']} [{e['rule']}]" for e in row["errors"])
        console.print(f"row {row['row']}: [red]rejected[/red] {escape(reasons)}")
    console.print(
        f"job {job['job_id']}: {len(rows) - len(refused)} row(s) accepted, {len(refused)} rejected"
    )
    _exit(0 if not refused else 1)


def _refusal(body: Any) -> str:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        return str(body)
    return "; ".join(f"{e['field']}: {e['message']} [{e['rule']}]" for e in errors)


def _send_csv(address: str, csv_file: Path, bearer: str) -> None:
    """Post a CSV file answered in one request (prior certificates), print the refused
    rows with their rules, exit 1 if any."""
    import httpx
    from rich.console import Console
    from rich.markup import escape

    try:
        content = csv_file.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {csv_file}: {exc.strerror}", 2)
        raise
    response = httpx.post(
        address,
        content=content,
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "text/csv"},
        timeout=600,
    )
    body = response.json()
    if response.status_code >= 400:
        _fail(_refusal(body), 1)
    rows = body["rows"] if isinstance(body, dict) else body
    console = Console()
    refused = [row for row in rows if row["status"] == "rejected"]
    for row in refused:
        reasons = "; ".join(f"{e['field']}: {e['message']} [{e['rule']}]" for e in row["errors"])
        console.print(f"row {row['row']}: [red]rejected[/red] {escape(reasons)}")
    console.print(f"{len(rows) - len(refused)} row(s) accepted, {len(refused)} rejected")
    _exit(0 if not refused else 1)


SessionOption = Annotated[str, typer.Option("--session", help="the exam session's id")]


@imports.command("applications")
def import_applications(
    csv_file: Path,
    session_id: SessionOption,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Register candidates (columns id_number,name,years_in_occupation,...) as a job with a
    progress bar; bad rows apply nothing."""
    _import_job("applications", session_id, csv_file, data_dir, api_url, token)


@imports.command("scores")
def import_scores(
    csv_file: Path,
    session_id: SessionOption,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Enter scores (columns application_id,examiner_id,theory,practical,review) as a job
    with a progress bar."""
    _import_job("scores", session_id, csv_file, data_dir, api_url, token)


@imports.command("certificates")
def import_certificates(
    csv_file: Path,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Import certificates from before SkillFlow, as the records officer (columns
    certificate_number,id_number,occupation_code,level,issuing_body,issued_on,
    checked_against,checked_on, optionally holder_name); refused rows apply nothing."""
    url, tokens = _api_address(data_dir, api_url)
    bearer = token or tokens.get("records_officer")
    if not bearer:
        _fail("pass --token with a records officer token", 2)
        return
    _send_csv(f"{url}/records/prior-certificates.csv", csv_file, bearer)


@app.command()
def benchmark(
    which: Annotated[
        list[str] | None,
        typer.Argument(
            help="consumers, certification, competition, scale (1, 2 and 4 processes per "
            "role), memory (worker RSS with many open workflows), import (a CSV file of "
            "--rows registrations as a job); default: the first two"
        ),
    ] = None,
    # 100,000 a round: at 20,000 a round lasts about a second on two cores, and when the
    # first fetches land decides the rate (idle-machine medians 0.58-0.63 against 0.79-0.84).
    events: Annotated[
        int, typer.Option(min=100, help="events per round for the consumers benchmark")
    ] = 100_000,
    candidates: Annotated[
        int, typer.Option(min=10, help="candidates for the certification benchmark")
    ] = 500,
    entrants: Annotated[
        int, typer.Option(min=10, help="entrants for the competition benchmark")
    ] = 1000,
    workflows: Annotated[
        int, typer.Option(min=100, help="open application workflows for the memory benchmark")
    ] = 10_000,
    rows: Annotated[
        int, typer.Option(min=10, help="registrations in the import benchmark's CSV file")
    ] = 10_000,
) -> None:
    """Measure throughput on fresh local servers, next to the raw engines in the same run."""
    from skillflow.benchmarks.report import run_benchmarks

    ok = asyncio.run(
        run_benchmarks(
            which or ["consumers", "certification"],
            events,
            candidates,
            entrants,
            workflows,
            rows,
        )
    )
    _exit(0 if ok else 1)


@app.command()
def drill(
    name: Annotated[
        str,
        typer.Argument(
            help="worker-kill, consumer-kill, broker-stop, postgres-restart, temporal-restart or import-kill"
        ),
    ],
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Inject a real fault (SIGKILL, a stopped server) into the running local stack and show
    how the service recovers, with figures. worker-kill needs `skillflow up --workers 2`."""
    from rich.console import Console
    from rich.table import Table

    from skillflow.drills import DRILLS, run_drill
    from skillflow.drills.stack import StackHandle

    if name not in DRILLS:
        _fail(f"no drill {name!r}: choose one of {', '.join(DRILLS)}", 2)
    console = Console()
    try:
        stack = StackHandle(data_dir)
    except StackError as exc:
        _fail(str(exc), 1)
        raise
    console.print(f"[bold]{name}[/bold]: {DRILLS[name]}")
    try:
        report = asyncio.run(run_drill(name, stack))
    except (StackError, TimeoutError, OSError) as exc:
        _fail(f"{name}: {type(exc).__name__}: {exc}", 1)
        raise
    table = Table(title=f"{name}: {'passed' if report.passed else 'FAILED'}")
    table.add_column("")
    table.add_column("figure", justify="right")
    for label, value in report.figures:
        table.add_row(label, value)
    console.print(table)
    for problem in report.problems:
        console.print(f"[red]problem:[/red] {problem}")
    _exit(0 if report.passed else 1)


@app.command()
def asyncapi(
    output: Annotated[
        Path | None, typer.Option(help="write here instead of standard output")
    ] = None,
) -> None:
    """Print the AsyncAPI document of the event contract (generated from the consumers)."""
    from consumers.asyncapi import asyncapi_document

    document = asyncapi_document()
    if output is None:
        typer.echo(document)
    else:
        output.write_text(document + "\n")
    _exit(0)


def main() -> None:
    app()


credential_commands = typer.Typer(help="Save the issuer key set; rotate the signing key.")
app.add_typer(credential_commands, name="credentials")


@api_command(credential_commands, "keys", token_help=None)
def credentials_keys(
    access: ApiAccess,
    output: Annotated[Path, typer.Option(help="where to save the key set (did.json)")],
) -> None:
    """Save SkillFlow's published key set, to check credentials offline later."""
    url, _ = access.address()
    document = _fetch_json(f"{url}/.well-known/did.json")
    if document is None:
        _fail(f"cannot fetch {url}/.well-known/did.json", 1)
        return
    import json

    output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    typer.echo(f"{len(document.get('verificationMethod', []))} key(s) of {document['id']} saved")
    _exit(0)


@api_command(credential_commands, "rotate-key", token_help=OPERATOR_HELP)
def credentials_rotate_key(access: ApiAccess) -> None:
    """Make a new signing key (an operator); the previous one is retired but stays
    published, so the credentials it signed still verify."""
    made = access.operate("POST", "/credentials/keys")
    typer.echo(
        f"signing with {made['key_id']} from now on; earlier keys of {made['did']} stay published"
    )
    _exit(0)
