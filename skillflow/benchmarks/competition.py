"""A competition round at scale, next to the raw engines, on fresh servers.

``run`` starts the worker role in this process and drives, through the HTTP API, one city
competition (feeding a provincial one) with ``entrants`` competitors under the default
marking scheme: 12 measurement aspects (4 of theory) and 10 judgement aspects with three
judges each, i.e. for 1,000 entrants 30,000 judgement marks and 12,000 measurement marks.
Entries by CSV, judges' marks as JSON batches (one judge per request stream), the three
module locks, results, and the advancement of the qualifiers.

Printed: entries per second, marks accepted per second, each lock's time, the time from the
last lock to results published and to the qualifiers advanced, and the largest workflow
history (events and bytes: the competition's, which holds phases and counts, not the
field), next to a one-activity no-op workflow and single-row PostgreSQL inserts per second
measured in the same run.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from api.app import create_app
from policy.calendar import china_date
from policy.competition import default_rule_version, rule_set
from policy.idnumber import make_id_number
from schemas.competition import CompetitionState, competition_workflow_id
from skillflow.benchmarks.certification import _progress
from skillflow.benchmarks.servers import engine_baseline, worker_running
from skillflow.settings import Role, Settings, TokenHolder

OCCUPATION = "6-20-01-01"
BASELINE_WORKFLOWS = 200
BASELINE_INSERTS = 5000
JUDGES = ("J-1", "J-2", "J-3")
MEASURER = "J-M"
BATCH = 2000


def _id_number(index: int) -> str:
    birth = datetime(1980, 1, 1).date() + timedelta(days=index // 100)
    return make_id_number("120101", birth, index % 100, "F")


async def run(settings: Settings, entrants: int) -> dict[str, Any]:
    async with worker_running(settings):
        _progress(f"baseline: {BASELINE_WORKFLOWS} no-op workflows, {BASELINE_INSERTS} inserts")
        baseline = await engine_baseline(settings, BASELINE_WORKFLOWS, BASELINE_INSERTS)
        figures = await _scenario(settings, entrants)
    figures["baseline"] = baseline
    figures["ratios"] = {
        "marks_per_s_vs_postgres_inserts_per_s": round(
            figures["marks_per_s"] / baseline["postgres_inserts_per_s"], 3
        ),
        "largest_history_events_vs_trivial": round(
            figures["largest_history"]["events"] / baseline["trivial_workflow_history_events"], 2
        ),
    }
    return figures


async def _scenario(settings: Settings, entrants: int) -> dict[str, Any]:
    holders = {
        "organiser": TokenHolder(role=Role.ORGANISER, name="bench-organiser"),
        **{name: TokenHolder(role=Role.JUDGE, name=name) for name in (*JUDGES, MEASURER)},
    }
    tokens = {name: secrets.token_urlsafe(12) for name in holders}
    settings = settings.model_copy(
        update={
            "api_tokens": {
                **settings.api_tokens,
                **{tokens[name]: holder for name, holder in holders.items()},
            }
        }
    )

    def auth(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    app = create_app(settings)
    run_id = uuid.uuid4().hex[:6]
    today = china_date(datetime.now(UTC))
    scheme = rule_set(default_rule_version("city")).marking_scheme
    measurement = [
        a.aspect_id for m in scheme.modules for a in m.aspects if a.kind == "measurement"
    ]
    judgement = [a.aspect_id for m in scheme.modules for a in m.aspects if a.kind == "judgement"]
    figures: dict[str, Any] = {
        "entrants": entrants,
        "judgement_aspects": len(judgement),
        "measurement_aspects": len(measurement),
    }
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api", timeout=None
        ) as api,
    ):

        async def post(path: str, who: str = "organiser", **kwargs: Any) -> Any:
            response = await api.post(
                path, headers={**auth(who), **kwargs.pop("headers", {})}, **kwargs
            )
            if response.status_code >= 400:
                raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
            return response.json()

        ids = {}
        for tier, feeds in (("provincial_class2", None), ("city", "provincial_class2")):
            ids[tier] = f"bench-{tier.replace('_', '-')}-{run_id}"
            await post(
                "/competitions",
                json={
                    "competition_id": ids[tier],
                    "name": f"benchmark {tier}",
                    "tier": tier,
                    "occupation_code": OCCUPATION,
                    "edition_year": today.year,
                    "competed_on": str(today),
                    "organiser_id": "ORG-BENCH",
                    "issuing_body_id": "SBENCH",
                    "feeds_competition_id": ids.get(feeds or ""),
                },
            )
        city = f"/competitions/{ids['city']}"

        _progress(f"entries: {entrants} by CSV")
        csv = "id_number,name,employer\n" + "".join(
            f"{_id_number(i)},选手{i},EMP-{i % 50}\n" for i in range(entrants)
        )
        started = time.perf_counter()
        report = await post(
            f"{city}/entries.csv", content=csv.encode(), headers={"Content-Type": "text/csv"}
        )
        figures["entries_per_s"] = round(entrants / (time.perf_counter() - started), 1)
        if any(r["status"] != "accepted" for r in report):
            raise RuntimeError("some benchmark entries were refused")

        await post(f"{city}/judges", json={"judge_id": MEASURER, "aspects": measurement})
        for name in JUDGES:
            await post(f"{city}/judges", json={"judge_id": name, "aspects": judgement})
        await post(f"{city}/close-entries")

        def marks_of(judge: str) -> list[dict[str, Any]]:
            if judge == MEASURER:
                return [
                    {"entry": e, "aspect_id": a, "value": (e * 7 + i) % 5}
                    for e in range(1, entrants + 1)
                    for i, a in enumerate(measurement)
                ]
            offset = JUDGES.index(judge)
            # Scores of one aspect differ by at most one point: no re-marks needed.
            return [
                {"entry": e, "aspect_id": a, "value": 1 + ((e + i + offset) % 2)}
                for e in range(1, entrants + 1)
                for i, a in enumerate(judgement)
            ]

        async def send(judge: str) -> int:
            marks = marks_of(judge)
            accepted = 0
            for start in range(0, len(marks), BATCH):
                rows = await post(
                    f"{city}/marks", judge, json={"marks": marks[start : start + BATCH]}
                )
                accepted += sum(1 for r in rows if r["status"] == "accepted")
            return accepted

        total = entrants * (len(measurement) + len(judgement) * len(JUDGES))
        _progress(f"marks: {total} from {len(JUDGES) + 1} judges")
        started = time.perf_counter()
        accepted = sum(await asyncio.gather(*(send(j) for j in (MEASURER, *JUDGES))))
        elapsed = time.perf_counter() - started
        if accepted != total:
            raise RuntimeError(f"only {accepted} of {total} marks accepted")
        figures["marks"] = accepted
        figures["marks_per_s"] = round(accepted / elapsed, 1)

        _progress("locks, results, advancement")
        lock_s = {}
        for module in scheme.modules:
            started = time.perf_counter()
            await post(f"{city}/locks", json={"module_id": module.module_id})
            lock_s[module.module_id] = round(time.perf_counter() - started, 2)
        figures["lock_s"] = lock_s
        last_lock = time.perf_counter()
        state = await post(f"{city}/publish")
        figures["last_lock_to_results_published_s"] = round(time.perf_counter() - last_lock, 2)
        figures["results"] = state["results"]
        handle = app.state.services.temporal.get_workflow_handle(
            competition_workflow_id(ids["city"]), result_type=CompetitionState
        )
        final: CompetitionState = await handle.result()
        figures["last_lock_to_advanced_s"] = round(time.perf_counter() - last_lock, 2)
        figures["advanced"] = final.advanced
        history = await handle.fetch_history()
        figures["largest_history"] = {
            "workflow": "CompetitionWorkflow",
            "events": len(history.events),
            "bytes": len(history.to_json()),
        }
    return figures
