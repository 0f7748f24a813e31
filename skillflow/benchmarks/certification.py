"""Per-candidate cost of certification, measured through the API on a running stack.

One body, one session of ``candidates`` under the ``demo-fast`` policy (3-second public
notice): CSV registration, bulk approval, CSV scores, then wait until every certificate
is issued. Reports throughput per phase and the Temporal cost of one candidate (history
events and activities of an application workflow).
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
import uuid
from datetime import date, timedelta
from typing import Any

import httpx

from api.app import create_app
from policy.idnumber import make_id_number
from skillflow.settings import Role, Settings

OCCUPATION = "6-20-01-01"


def _id_number(index: int) -> str:
    birth = date(1970, 1, 1) + timedelta(days=index // 100)
    return make_id_number("210102", birth, index % 100, "M")


async def run(settings: Settings, candidates: int) -> dict[str, Any]:
    tokens = {role: secrets.token_urlsafe(12) for role in (Role.CENTRE, Role.REGULATOR)}
    settings = settings.model_copy(
        update={"api_tokens": {**settings.api_tokens, **{t: r for r, t in tokens.items()}}}
    )
    centre = {"Authorization": f"Bearer {tokens[Role.CENTRE]}"}
    regulator = {"Authorization": f"Bearer {tokens[Role.REGULATOR]}"}
    app = create_app(settings)
    run_id = uuid.uuid4().hex[:6]
    figures: dict[str, Any] = {"candidates": candidates}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api", timeout=600
        ) as api,
    ):
        body_id = f"SBENCH{run_id}"
        response = await api.post(
            "/bodies",
            headers=centre,
            json={
                "body_id": body_id,
                "name": "benchmark centre",
                "province_code": "21",
                "body_code": f"{int(run_id, 16) % 10_000:04d}",
                "site_serial": "000001",
                "scope": [{"occupation_code": OCCUPATION, "level": 5}],
            },
        )
        response.raise_for_status()
        for _ in range(100):
            response = await api.post(
                f"/bodies/{body_id}/decision", headers=regulator, json={"approve": True}
            )
            if response.status_code == 200:
                break
            await asyncio.sleep(0.1)
        response.raise_for_status()

        practical = max(3, math.ceil(candidates / 5))
        practical += 1 - practical % 2
        session_id = f"bench-{run_id}"
        today = date.today()
        response = await api.post(
            "/sessions",
            headers=centre,
            json={
                "session_id": session_id,
                "body_id": body_id,
                "occupation_code": OCCUPATION,
                "level": 5,
                "exam_date": str(today + timedelta(days=30)),
                "registration_closes_on": str(today + timedelta(days=20)),
                "capacity": candidates,
                "theory_rooms": 1,
                "proctors": max(2, math.ceil(candidates / 15)),
                "examiners": [
                    {"examiner_id": f"E{i}", "name": f"E{i}", "grade": "senior"}
                    for i in range(practical)
                ],
                "policy_version": "demo-fast",
            },
        )
        response.raise_for_status()

        rows = ["id_number,name,years_in_occupation"]
        rows += [f"{_id_number(i)},候选人,2" for i in range(candidates)]
        started = time.perf_counter()
        response = await api.post(
            f"/sessions/{session_id}/applications.csv",
            headers={**centre, "Content-Type": "text/csv"},
            content="\n".join(rows),
        )
        response.raise_for_status()
        report = response.json()
        ids = [r["application_id"] for r in report if r["status"] == "accepted"]
        figures["registered"] = len(ids)
        figures["register_per_s"] = round(len(ids) / (time.perf_counter() - started), 1)

        started = time.perf_counter()
        response = await api.post(
            f"/sessions/{session_id}/reviews", headers=centre, json={"approve": True}
        )
        response.raise_for_status()
        figures["approve_per_s"] = round(len(ids) / (time.perf_counter() - started), 1)
        (await api.post(f"/sessions/{session_id}/start", headers=centre)).raise_for_status()

        scores = ["application_id,examiner_id,theory,practical"]
        scores += [f"{application_id},E0,75,80" for application_id in ids]
        started = time.perf_counter()
        response = await api.post(
            f"/sessions/{session_id}/scores.csv",
            headers={**centre, "Content-Type": "text/csv"},
            content="\n".join(scores),
        )
        response.raise_for_status()
        figures["score_per_s"] = round(len(ids) / (time.perf_counter() - started), 1)

        started = time.perf_counter()
        services = app.state.services
        while True:
            issued = await services.pool.fetchval(
                """SELECT count(*) FROM certification.applications
                   WHERE session_id = $1 AND stage = 'issued'""",
                session_id,
            )
            if issued >= len(ids) or time.perf_counter() - started > 600:
                break
            await asyncio.sleep(0.5)
        figures["issued"] = issued
        # The notice itself lasts 3 s under demo-fast; the rest is issuance throughput.
        figures["issue_phase_s"] = round(time.perf_counter() - started, 1)

        history = await services.temporal.get_workflow_handle(
            f"application-{ids[0]}"
        ).fetch_history()
        figures["history_events_per_candidate"] = len(history.events)
        figures["activities_per_candidate"] = sum(
            1 for e in history.events if e.HasField("activity_task_scheduled_event_attributes")
        )
        figures["history_bytes_per_candidate"] = len(history.to_json())
        session_history = await services.temporal.get_workflow_handle(
            f"session-{session_id}"
        ).fetch_history()
        figures["session_history_events"] = len(session_history.events)
    return figures
