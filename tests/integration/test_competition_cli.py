"""``skillflow competition ...`` as an organiser and judges run it, against the API served
on loopback: create, enter by CSV (a refused row reported), judges, marks by CSV, locks,
publish, and the published results as text and CSV."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from api.server import run_api
from skillflow.settings import Role
from skillflow.stack.process import free_port
from tests.integration.steps import FITTER, approved_body, new_id_number, today
from tests.integration.test_competition_ladder import SCHEME

pytestmark = pytest.mark.integration


async def skillflow(*args: str) -> tuple[int, str, str]:
    # Not subprocess.run: the API answering it runs in this event loop.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "skillflow", "competition", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return int(process.returncode or 0), out.decode(), err.decode()


async def test_an_organiser_and_judges_run_a_competition_from_the_cli(
    stack: Any, worker: None, api: Any, auth: Any, tmp_path: Path
) -> None:
    body_id = await approved_body(api, auth, levels=(5, 4), province_code="12")
    port = free_port()
    settings = stack.settings.model_copy(update={"api_port": port})
    stop = asyncio.Event()
    server = asyncio.create_task(run_api(settings, stop))
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        if await skillflow_ready(url):
            break
        await asyncio.sleep(0.1)
    organiser = ["--api-url", url, "--token", stack.tokens[Role.ORGANISER]]

    def judge(name: str) -> list[str]:
        return ["--api-url", url, "--token", stack.named_tokens[f"judge:{name}"]]

    try:
        competition_id = f"cli-{uuid.uuid4().hex[:8]}"
        request = tmp_path / "city.json"
        request.write_text(json.dumps({
            "competition_id": competition_id, "name": "钳工 城市赛", "tier": "city",
            "occupation_code": FITTER, "edition_year": today().year,
            "competed_on": str(today()), "organiser_id": "ORG-TJ",
            "issuing_body_id": body_id, "marking_scheme": SCHEME,
        }, ensure_ascii=False))  # fmt: skip
        code, out, err = await skillflow("create", str(request), *organiser)
        assert code == 0, err
        assert json.loads(out)["phase"] == "entries_open"

        people = [new_id_number(region="120101") for _ in range(2)]
        entries = tmp_path / "entries.csv"
        entries.write_text(
            "id_number,name\n"
            + "".join(f"{n},郑{i}\n" for i, n in enumerate(people))
            + "120101199001011234,坏行\n"
        )
        code, out, err = await skillflow("enter", competition_id, str(entries), *organiser)
        assert code == 1, err  # a refused row makes the import exit 1
        assert "row 3: rejected id_number:" in out and "2 row(s) accepted, 1 rejected" in out
        assert all(n not in out + err for n in people)

        code, _, err = await skillflow(
            "judge", competition_id, "J-1", "--aspect", "T1", "--aspect", "P1", "--aspect", "J1",
            *organiser,
        )  # fmt: skip
        assert code == 0, err
        for name in ("J-2", "J-3"):
            code, _, err = await skillflow(
                "judge", competition_id, name, "--aspect", "J1", *organiser
            )
            assert code == 0, err
        code, out, err = await skillflow("close-entries", competition_id, *organiser)
        assert code == 0 and json.loads(out)["phase"] == "marking", err

        sheets = {
            "J-1": "entry,aspect_id,value\n1,T1,25\n1,P1,35\n1,J1,3\n2,T1,20\n2,P1,30\n2,J1,2\n",
            "J-2": "entry,aspect_id,value\n1,J1,3\n2,J1,2\n",
            "J-3": "entry,aspect_id,value\n1,J1,3\n2,J1,5\n",
        }
        for name, sheet in sheets.items():
            path = tmp_path / f"{name}.csv"
            path.write_text(sheet)
            code, out, err = await skillflow("marks", competition_id, str(path), *judge(name))
            if name == "J-3":
                assert code == 1 and "mark.judgement_range" in out, out
            else:
                assert code == 0, out + err
        fixed = tmp_path / "J-3-fixed.csv"
        fixed.write_text("entry,aspect_id,value\n2,J1,2\n")
        code, out, err = await skillflow("marks", competition_id, str(fixed), *judge("J-3"))
        assert code == 0, out + err

        code, out, err = await skillflow("leaderboard", competition_id, *organiser)
        assert code == 0 and out.splitlines()[0].split()[:3] == ["workers", "1", "#1"], out
        for module in ("T", "P"):
            code, _, err = await skillflow("lock", competition_id, module, *organiser)
            assert code == 0, err
        code, out, err = await skillflow("publish", competition_id, *organiser)
        assert code == 0 and json.loads(out)["phase"] == "results_published", err

        code, out, err = await skillflow("results", competition_id, "--api-url", url)
        assert code == 0, err
        first, second = out.splitlines()
        assert first.split()[:6] == ["workers", "1", "#1", "郑*", "90.00", "gold"], out
        assert second.split()[:6] == ["workers", "2", "#2", "郑*", "70.00", "silver"], out
        code, out, err = await skillflow("results", competition_id, "--csv", "--api-url", url)
        assert code == 0 and out.splitlines()[1].startswith("workers,1,1,郑*,90.00"), out
    finally:
        stop.set()
        await server


async def skillflow_ready(url: str) -> bool:
    import httpx

    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{url}/health/live")).status_code == 200
    except httpx.HTTPError:
        return False
