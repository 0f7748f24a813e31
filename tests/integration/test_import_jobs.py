"""CSV imports as durable jobs, on the real stack: answered at once with a job, the rows
decided by ImportWorkflow in batches, the same file finding the same job, a retried batch
deciding nothing twice, and no ID number ever reaching Temporal."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.imports import ImportActivities
from activities.resources import ActivityResources
from policy.rule_ids import Rule
from schemas.imports import ImportBatch
from schemas.workflow_ids import application_workflow_id, import_workflow_id
from skillflow.settings import Role
from store.sealed import import_row_place
from tests.integration.steps import (
    Auth,
    approved_body,
    id_number,
    import_rows,
    open_session,
)

pytestmark = pytest.mark.integration
CSV = {"Content-Type": "text/csv"}


def registrations(first: int, count: int, *, bad: int = 0) -> str:
    rows = ["id_number,name,years_in_occupation"]
    rows += [f"{id_number(first + i)},候选人{i},2" for i in range(count)]
    # Too few years in the occupation: refused by the eligibility rules, row by row.
    rows += [f"{id_number(first + count + i)},年限不足{i},0.2" for i in range(bad)]
    return "\n".join(rows) + "\n"


async def _finished(api: httpx.AsyncClient, auth: Auth, job: dict[str, Any]) -> dict[str, Any]:
    path = f"/sessions/{job['session_id']}/imports/{job['job_id']}"
    for _ in range(600):
        answer = await api.get(path, headers=auth(Role.CENTRE))
        assert answer.status_code == 200, answer.text
        if answer.json()["finished"]:
            found: dict[str, Any] = answer.json()
            return found
        await asyncio.sleep(0.1)
    raise TimeoutError(job["job_id"])


async def test_an_import_answers_with_a_job_and_the_same_file_finds_the_same_job(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    session_id = await open_session(api, auth, await approved_body(api, auth))
    path = f"/sessions/{session_id}/applications.csv"
    body = registrations(3000, 7, bad=2)

    first = await api.post(path, headers=auth(Role.CENTRE) | CSV, content=body)
    assert first.status_code == 202, first.text
    job = first.json()
    assert job["progress"]["total"] == 9
    done = await _finished(api, auth, job)
    assert done["progress"] == {"total": 9, "done": 9, "accepted": 7, "refused": 2}
    assert [r["status"] for r in done["rows"]] == ["accepted"] * 7 + ["rejected"] * 2
    assert {r["errors"][0]["rule"] for r in done["rows"][7:]} == {Rule.ELIGIBILITY_NO_PATH}

    # Sent again: the same job, finished, and nothing admitted twice.
    again = await api.post(path, headers=auth(Role.CENTRE) | CSV, content=body)
    assert again.status_code == 202, again.text
    assert again.json()["job_id"] == job["job_id"]
    assert again.json()["finished"]
    applications = await stack.pool.fetchval(
        "SELECT count(*) FROM certification.applications WHERE session_id = $1", session_id
    )
    assert applications == 7
    submitted = await stack.pool.fetchval(
        """SELECT count(*) FROM outbox.events
           WHERE envelope->>'event_type' = 'registration.submitted'
             AND envelope->>'correlation_id' LIKE $1""",
        f"application-{session_id}-%",
    )
    assert submitted == 7

    # Another file with the same people is a new job, and each row is found unchanged.
    other = await import_rows(
        api, path, headers=auth(Role.CENTRE), content=registrations(3000, 7) + "\n"
    )
    assert [r["status"] for r in other] == ["unchanged"] * 7
    assert [r["application_id"] for r in other] == [r["application_id"] for r in done["rows"][:7]]

    # Pages of the answers, in row order.
    page = await api.get(
        f"/sessions/{session_id}/imports/{job['job_id']}",
        headers=auth(Role.CENTRE),
        params={"limit": 3, "offset": 6},
    )
    assert [r["row"] for r in page.json()["rows"]] == [7, 8, 9]


async def test_no_id_number_reaches_temporal_and_decided_rows_drop_their_cells(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    session_id = await open_session(api, auth, await approved_body(api, auth))
    body = registrations(3100, 3)
    answer = await api.post(
        f"/sessions/{session_id}/applications.csv", headers=auth(Role.CENTRE) | CSV, content=body
    )
    job = await _finished(api, auth, answer.json())
    history = await stack.temporal.get_workflow_handle(
        import_workflow_id(job["job_id"])
    ).fetch_history()
    text = history.to_json()
    for i in range(3):
        assert id_number(3100 + i) not in text
        assert f"候选人{i}" not in text
    kept = await stack.pool.fetchval(
        "SELECT count(cells_sealed) FROM imports.rows WHERE job_id = $1", job["job_id"]
    )
    assert kept == 0


async def test_a_retried_batch_decides_nothing_twice(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    session_id = await open_session(api, auth, await approved_body(api, auth))
    answer = await api.post(
        f"/sessions/{session_id}/applications.csv",
        headers=auth(Role.CENTRE) | CSV,
        content=registrations(3200, 4),
    )
    job = await _finished(api, auth, answer.json())
    # As a batch retried after its worker died having decided every row.
    activities = ImportActivities(ActivityResources(stack.pool, stack.settings, stack.temporal))
    outcome = await ActivityEnvironment().run(
        activities.decide_rows, ImportBatch(job_id=job["job_id"], first=1, last=4)
    )
    assert outcome.decided == 0
    assert (
        await stack.pool.fetchval(
            "SELECT count(*) FROM certification.applications WHERE session_id = $1", session_id
        )
        == 4
    )


async def test_a_bad_file_is_refused_at_the_door_and_starts_no_job(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    session_id = await open_session(api, auth, await approved_body(api, auth))
    path = f"/sessions/{session_id}/applications.csv"
    jobs_before = await stack.pool.fetchval("SELECT count(*) FROM imports.jobs")

    missing = await api.post(path, headers=auth(Role.CENTRE) | CSV, content=b"id_number,name\n")
    assert missing.status_code == 422, missing.text
    assert missing.json()["errors"][0]["rule"] == Rule.CSV_MISSING_COLUMNS

    encoding = "id_number,姓名,years_in_occupation\n".encode("gbk")
    bad_header = await api.post(path, headers=auth(Role.CENTRE) | CSV, content=encoding)
    assert bad_header.status_code == 422, bad_header.text
    assert bad_header.json()["errors"][0]["rule"] == Rule.CSV_ENCODING

    huge = b"id_number,name,years_in_occupation\n" + b"x" * stack.settings.import_max_bytes
    too_large = await api.post(path, headers=auth(Role.CENTRE) | CSV, content=huge)
    assert too_large.status_code == 422, too_large.text
    assert too_large.json()["errors"][0]["rule"] == Rule.CSV_TOO_LARGE

    assert await stack.pool.fetchval("SELECT count(*) FROM imports.jobs") == jobs_before


async def test_a_job_is_read_only_under_its_own_session(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    body_id = await approved_body(api, auth)
    mine, other = await open_session(api, auth, body_id), await open_session(api, auth, body_id)
    answer = await api.post(
        f"/sessions/{mine}/applications.csv",
        headers=auth(Role.CENTRE) | CSV,
        content=registrations(3300, 1),
    )
    job_id = answer.json()["job_id"]
    elsewhere = await api.get(f"/sessions/{other}/imports/{job_id}", headers=auth(Role.CENTRE))
    assert elsewhere.status_code == 404, elsewhere.text
    assert elsewhere.json()["errors"][0]["rule"] == Rule.NOT_FOUND


async def test_a_score_row_retried_after_its_update_is_not_entered_twice(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    session_id = await open_session(api, auth, await approved_body(api, auth))
    [registered] = await import_rows(
        api,
        f"/sessions/{session_id}/applications.csv",
        headers=auth(Role.CENTRE),
        content=registrations(3400, 1),
    )
    application_id = registered["application_id"]
    reviews = await api.post(
        f"/sessions/{session_id}/reviews", headers=auth(Role.CENTRE), json={"approve": True}
    )
    assert [r["status"] for r in reviews.json()] == ["approved"], reviews.text
    started = await api.post(f"/sessions/{session_id}/start", headers=auth(Role.CENTRE))
    assert started.status_code == 200, started.text
    cells = {"application_id": application_id, "examiner_id": "E1", "theory": "75"}
    answer = await api.post(
        f"/sessions/{session_id}/scores.csv",
        headers=auth(Role.CENTRE) | CSV,
        content=",".join(cells) + "\n" + ",".join(cells.values()) + "\n",
    )
    job = await _finished(api, auth, answer.json())
    [first] = job["rows"]
    assert first["status"] == "accepted", first

    # As if the worker died after the update and before the row's answer was recorded.
    await stack.pool.execute(
        """UPDATE imports.rows SET status = NULL, decided_at = NULL, stage = NULL,
                  application_id = NULL, cells_sealed = $2
           WHERE job_id = $1 AND row_number = 1""",
        job["job_id"],
        stack.settings.key_ring.seal_text(json.dumps(cells), import_row_place(job["job_id"], 1)),
    )
    activities = ImportActivities(ActivityResources(stack.pool, stack.settings, stack.temporal))
    outcome = await ActivityEnvironment().run(
        activities.decide_rows, ImportBatch(job_id=job["job_id"], first=1, last=1)
    )
    assert outcome.decided == 1
    [again] = (await _finished(api, auth, job))["rows"]
    # Temporal answered the update id with its first result: accepted, not "already scored".
    assert (again["status"], again["stage"]) == ("accepted", first["stage"]), again
    history = await stack.temporal.get_workflow_handle(
        application_workflow_id(application_id)
    ).fetch_history()
    accepted_updates = [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
        and e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
        == f"{job['job_id']}-1"
    ]
    assert len(accepted_updates) == 1
