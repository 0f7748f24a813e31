"""The demo a new user runs, against the real stack: it must finish and say what happened."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from skillflow.demo import run_demo

pytestmark = pytest.mark.integration


async def test_demo_runs_end_to_end(stack, worker, consumers, api) -> None:
    output = io.StringIO()
    tokens = {role.value: token for role, token in stack.tokens.items()}
    ok = await run_demo(
        {"api": "http://api", "tokens": tokens},
        12,
        http=api,
        console=Console(file=output, width=120),
    )
    text = output.getvalue()
    assert ok, text
    assert "(id_number.min_age)" in text and "(id_number.check_character)" in text
    assert "closes the session (closed)" in text, text
    assert re.search(r"certificates issued\s*│\s*\d+", text)
    assert re.search(r"revoked certificate now verifies as\s*│\s*revoked", text)
    clawback = re.search(r"subsidies clawed back\s*│\s*(\d+) of (\d+)\b", text)
    assert clawback and clawback[1] == clawback[2] and int(clawback[1]) >= 1, text
    assert re.search(r"credential verified offline\s*│\s*valid / valid", text), text
    assert re.search(r"revoked certificate's credential\s*│\s*valid / revoked", text), text
    assert "imported=True" in text, text
