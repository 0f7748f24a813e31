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
    # The competition act: the ladder ran, qualifiers advanced, the national podium and a
    # 优胜奖 are shown, and a promoted medallist holds a promotion certificate and a reward.
    assert re.search(r"competitions run \(city -> provincial -> national\)\s*│\s*3", text), text
    assert re.search(r"qualifiers advanced \(city, provincial\)\s*│\s*3, 2", text), text
    assert re.search(r"promotion certificate \(national medallist\)\s*│\s*S\d{21}", text), text
    reward = re.search(r"competition rewards in that archive \(yuan\)\s*│\s*([\d,.]+)", text)
    assert reward and float(reward[1].replace(",", "")) > 0, text
    assert "The national final" in text and "优胜奖 (merit)" in text, text
    for medal in ("gold", "silver", "bronze"):
        assert re.search(rf"│\s*{medal}\s*│", text), text
