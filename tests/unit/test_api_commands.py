"""``api_command``: a command's own arguments and options, then --data-dir, --api-url and
--token wherever a person puts them, handed to the command as one ``ApiAccess``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.testing import CliRunner

from skillflow.api_commands import DEFAULT_DATA_DIR, ApiAccess, api_command

group = typer.Typer()
seen: list[tuple[ApiAccess, str, int]] = []


@api_command(group, "lock")
def lock(
    access: ApiAccess, competition_id: str, rounds: Annotated[int, typer.Option()] = 1
) -> None:
    seen.append((access, competition_id, rounds))


@api_command(group, "results", token_help=None)
def results(access: ApiAccess, competition_id: str) -> None:
    seen.append((access, competition_id, 0))


def run(*args: str) -> tuple[int, str]:
    seen.clear()
    result = CliRunner().invoke(group, list(args))
    return result.exit_code, result.output


def test_the_shared_options_go_before_or_after_the_command_s_own() -> None:
    assert run("lock", "C-1", "--token", "t", "--rounds", "2", "--api-url", "http://x") == (0, "")
    assert seen == [(ApiAccess(DEFAULT_DATA_DIR, "http://x", "t"), "C-1", 2)]
    assert run("lock", "--data-dir", "/tmp/s", "C-2")[0] == 0
    assert seen == [(ApiAccess(Path("/tmp/s"), None, None), "C-2", 1)]


def test_a_command_without_a_token_refuses_one() -> None:
    assert run("results", "C-1")[0] == 0
    assert seen == [(ApiAccess(DEFAULT_DATA_DIR, None, None), "C-1", 0)]
    code, output = run("results", "C-1", "--token", "t")
    assert code == 2 and "--token" in output and seen == []


def test_the_undecorated_command_is_returned_for_other_commands_to_call() -> None:
    seen.clear()
    lock(ApiAccess(DEFAULT_DATA_DIR, None), "C-3", rounds=4)
    assert seen == [(ApiAccess(DEFAULT_DATA_DIR, None), "C-3", 4)]
