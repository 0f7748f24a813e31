"""Certification rules on the real stack, through the HTTP API: each refusal names its field
and rule and writes nothing (no application, no score, no change of stage).

Recusal, panels, session status, capacity, registration closing, filed scope, and
eligibility by the years since a certificate the system itself issued.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from policy.eligibility import years_between
from policy.idnumber import person_key
from policy.rule_ids import Rule
from schemas import payloads
from schemas.application import ApplicationStatus
from schemas.events import EventEnvelope
from schemas.topics import Topic
from schemas.workflow_ids import application_workflow_id, session_workflow_id
from skillflow.settings import Role
from tests.integration.steps import (
    FITTER,
    Auth,
    admitted,
    approve,
    approved_body,
    certificate_issued,
    enter_scores,
    event_about,
    examiner,
    examiners,
    import_rows,
    new_id_number,
    new_session,
    open_session,
    reject,
    session_request,
    start,
    today,
    workflow_exists,
)
from workflows.application import ApplicationWorkflow

pytestmark = pytest.mark.integration


def key_of(stack: Any, id_number: str) -> str:
    return person_key(id_number, stack.settings.person_key_secret_bytes)


def candidate(id_number: str, **extra: Any) -> dict[str, Any]:
    return {
        "id_number": id_number,
        "name": "刘师傅",
        "years_in_occupation": 2,
        "employer": f"EMP-{uuid.uuid4().hex[:6]}",
        **extra,
    }


async def register(
    api: httpx.AsyncClient, auth: Auth, session_id: str, payload: dict[str, Any]
) -> httpx.Response:
    return await api.post(
        f"/sessions/{session_id}/applications", headers=auth(Role.CENTRE), json=payload
    )


async def registered(
    api: httpx.AsyncClient, auth: Auth, session_id: str, payload: dict[str, Any]
) -> str:
    response = await register(api, auth, session_id, payload)
    assert response.status_code == 201, response.text
    return str(response.json()["application_id"])


async def refused_row(
    api: httpx.AsyncClient, auth: Auth, session_id: str, csv: str
) -> list[tuple[str, str]]:
    """The (field, rule) errors of the one row of scores ``csv``, which the import refuses."""
    [row] = await import_rows(
        api, f"/sessions/{session_id}/scores.csv", headers=auth(Role.CENTRE), content=csv
    )
    assert row["status"] == "rejected"
    return [(e["field"], e["rule"]) for e in row["errors"]]


def refused(response: httpx.Response, field: str, rule: str) -> str:
    """The response is a 422 naming exactly this field and rule; returns its message."""
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["field"], e["rule"]) for e in errors] == [(field, rule)], response.text
    return str(errors[0]["message"])


async def application_count(stack: Any, session_id: str) -> int:
    return int(
        await stack.pool.fetchval(
            "SELECT count(*) FROM certification.applications WHERE session_id = $1", session_id
        )
    )


async def assert_no_application(stack: Any, session_id: str, id_number: str) -> None:
    """Nothing of a refused registration exists: no row, no workflow, no outbox event."""
    key = key_of(stack, id_number)
    application_id = f"{session_id}-{key[:12]}"  # activities.admission.admit names it so
    assert await application_count(stack, session_id) == 0
    assert not await workflow_exists(stack, application_workflow_id(application_id))
    assert (
        await stack.pool.fetchval(
            """SELECT count(*) FROM outbox.events
               WHERE envelope->>'person_key' = $1
                 AND envelope->'payload'->>'session_id' = $2""",
            key,
            session_id,
        )
        == 0
    )


async def assert_unscored(stack: Any, application_id: str) -> None:
    """Neither the workflow nor its projection holds any score, and the stage is unchanged."""
    row = await stack.pool.fetchrow(
        "SELECT stage, scores, attempts FROM certification.applications WHERE application_id = $1",
        application_id,
    )
    assert (row["stage"], row["scores"], row["attempts"]) == ("assessment", {}, {})
    status: ApplicationStatus = await stack.temporal.get_workflow_handle(
        application_workflow_id(application_id)
    ).query(ApplicationWorkflow.status)
    assert (status.stage, status.scores, status.attempts) == ("assessment", {}, {})


# --- scores -----------------------------------------------------------------------------


async def test_a_recused_examiner_cannot_score_the_candidate(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    body_id = await approved_body(api, auth)
    colleague = "91210100MA0RECUSE1"
    session_id = await open_session(
        api,
        auth,
        body_id,
        examiners=[examiner("E0", employer=colleague), examiner("E1"), examiner("E2")],
    )
    first = await registered(api, auth, session_id, candidate(new_id_number(), employer=colleague))
    second = await registered(api, auth, session_id, candidate(new_id_number(), employer=colleague))
    await approve(api, auth, first)
    await approve(api, auth, second)
    await start(api, auth, session_id)

    message = refused(
        await enter_scores(api, auth, first, "E0", theory=80, practical=85),
        "scores.theory",
        Rule.SCORE_EXAMINER_RECUSED,
    )
    assert "recused" in message
    await assert_unscored(stack, first)

    # The CSV import reads the recusals its own way; it refuses the row just the same.
    assert await refused_row(
        api, auth, session_id, f"application_id,examiner_id,practical\n{second},E0,90\n"
    ) == [("scores.practical", Rule.SCORE_EXAMINER_RECUSED)]
    await assert_unscored(stack, second)

    # An examiner without a conflict scores the same candidate.
    accepted = await enter_scores(api, auth, first, "E1", theory=80, practical=85)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["stage"] == "public_notice"


async def test_review_scores_come_only_from_the_review_panel(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    body_id = await approved_body(api, auth, levels=[2])
    review_panel = [examiner(f"R{i}", panel="review") for i in range(3)]
    session_id = await open_session(
        api, auth, body_id, level=2, examiners=examiners() + review_panel
    )
    # Level 2 through the preparatory-technician path: certificate held two years or more.
    application_id = await registered(
        api,
        auth,
        session_id,
        candidate(
            new_id_number(),
            preparatory_technician_certificate_on=str(today() - timedelta(days=3 * 366)),
        ),
    )
    await approve(api, auth, application_id)
    await start(api, auth, session_id)

    message = refused(
        await enter_scores(api, auth, application_id, "E0", review=88),
        "scores.review",
        Rule.SCORE_EXAMINER_PANEL,
    )
    assert "review panel" in message
    await assert_unscored(stack, application_id)

    accepted = await enter_scores(api, auth, application_id, "R1", review=88)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["scores"] == {"review": 88}
    row = await stack.pool.fetchrow(
        "SELECT stage, scores FROM certification.applications WHERE application_id = $1",
        application_id,
    )
    assert (row["stage"], row["scores"]) == ("assessment", {"review": 88})


async def test_scores_are_refused_until_the_session_has_started(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    # (A closed session still takes scores: re-sits are sat after the main sitting, and
    # closing waits for every first-round score. So "not running" means not yet started.)
    session_id = await new_session(api, auth)
    application_id = await registered(api, auth, session_id, candidate(new_id_number()))
    await approve(api, auth, application_id)

    message = refused(
        await enter_scores(api, auth, application_id, "E1", theory=70, practical=70),
        "session_id",
        Rule.SESSION_NOT_RUNNING,
    )
    assert "open" in message
    assert await refused_row(
        api, auth, session_id, f"application_id,examiner_id,theory\n{application_id},E1,70\n"
    ) == [("session_id", Rule.SESSION_NOT_RUNNING)]
    await assert_unscored(stack, application_id)
    session = (await api.get(f"/sessions/{session_id}", headers=auth(Role.CENTRE))).json()
    assert session["status"] == "open"

    # Once started, the same sheet is taken.
    await start(api, auth, session_id)
    accepted = await enter_scores(api, auth, application_id, "E1", theory=70, practical=70)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["stage"] == "public_notice"


# --- registration -----------------------------------------------------------------------


async def test_registration_refused_when_the_session_is_full(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    body_id = await approved_body(api, auth)
    session_id = await open_session(api, auth, body_id, capacity=1)
    first = await registered(api, auth, session_id, candidate(new_id_number()))

    waiting = new_id_number()
    message = refused(
        await register(api, auth, session_id, candidate(waiting)),
        "session_id",
        Rule.SESSION_CAPACITY_FULL,
    )
    assert "1 places" in message
    assert await application_count(stack, session_id) == 1
    assert (
        await stack.pool.fetchval(
            "SELECT count(*) FROM certification.applications WHERE person_key = $1",
            key_of(stack, waiting),
        )
        == 0
    )

    # A rejected registration gives its place back.
    await reject(api, auth, first, "材料不全")
    assert (await register(api, auth, session_id, candidate(waiting))).status_code == 201
    refused(
        await register(api, auth, session_id, candidate(new_id_number())),
        "session_id",
        Rule.SESSION_CAPACITY_FULL,
    )
    assert await application_count(stack, session_id) == 2


async def test_registration_refused_after_registration_closed(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    body_id = await approved_body(api, auth)
    closed = await open_session(
        api, auth, body_id, registration_closes_on=str(today() - timedelta(days=1))
    )
    late = new_id_number()
    message = refused(
        await register(api, auth, closed, candidate(late)),
        "session_id",
        Rule.SESSION_REGISTRATION_CLOSED,
    )
    assert late not in message
    await assert_no_application(stack, closed, late)

    # The CSV import applies the same rule row by row.
    [row] = await import_rows(
        api,
        f"/sessions/{closed}/applications.csv",
        headers=auth(Role.CENTRE),
        content=f"id_number,name,years_in_occupation\n{late},迟到者,2\n",
    )
    assert [(e["field"], e["rule"]) for e in row["errors"]] == [
        ("session_id", Rule.SESSION_REGISTRATION_CLOSED)
    ], row
    await assert_no_application(stack, closed, late)

    # Registration closes at the end of its last day, not at its start.
    last_day = await open_session(api, auth, body_id, registration_closes_on=str(today()))
    assert (await register(api, auth, last_day, candidate(late))).status_code == 201


async def test_registration_refused_outside_the_bodys_filed_scope(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    body_id = await approved_body(api, auth, levels=[5, 4])

    # A session cannot even be opened outside the filed scope.
    request = session_request(body_id, level=3)
    response = await api.post("/sessions", headers=auth(Role.CENTRE), json=request)
    refused(response, "occupation_code", Rule.BODY_OUT_OF_SCOPE)
    assert (
        await stack.pool.fetchval(
            "SELECT count(*) FROM certification.sessions WHERE session_id = $1",
            request["session_id"],
        )
        == 0
    )
    assert not await workflow_exists(stack, session_workflow_id(request["session_id"]))

    # A session opened inside the scope, whose level then leaves the filed scope, admits
    # nobody. No API narrows a filing, so the projection the registration reads is edited.
    session_id = await open_session(api, auth, body_id, level=4, examiners=examiners())
    await stack.pool.execute(
        "UPDATE certification.bodies SET scope = array_remove(scope, $2) WHERE body_id = $1",
        body_id,
        f"{FITTER}:4",
    )
    outsider = new_id_number()
    refused(
        await register(api, auth, session_id, candidate(outsider, years_in_occupation=7)),
        "session_id",
        Rule.BODY_OUT_OF_SCOPE,
    )
    await assert_no_application(stack, session_id, outsider)

    # The level still in scope is unaffected.
    still_filed = await open_session(api, auth, body_id, level=5)
    assert (await register(api, auth, still_filed, candidate(outsider))).status_code == 201


# --- conflicts of interest --------------------------------------------------------------


async def test_conflicts_of_interest_are_recorded_and_published(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    body_id = await approved_body(api, auth)
    conflicted, neutral = new_id_number(), new_id_number()
    employer, former = "91210100MA0COI0001", "91210100MA0COI0002"
    session_id = await open_session(
        api,
        auth,
        body_id,
        examiners=[
            examiner("E0", employer=employer),  # a current colleague
            examiner("E1", former_employers=[former]),  # a former colleague
            examiner("E2", relative_id_numbers=[conflicted]),  # a recorded relation
            examiner("E3", trainee_id_numbers=[conflicted]),  # the candidate's trainer
            examiner("E4"),  # no conflict
        ],
    )
    conflicted_app = await registered(
        api,
        auth,
        session_id,
        candidate(conflicted, employer=employer, former_employers=[former]),
    )
    neutral_app = await registered(api, auth, session_id, candidate(neutral))
    assert (
        await stack.pool.fetchval(
            "SELECT count(*) FROM certification.recusals WHERE session_id = $1", session_id
        )
        == 0
    )  # decided at approval, not at registration
    await approve(api, auth, conflicted_app)
    await approve(api, auth, neutral_app)

    expected = {
        ("E0", "same_employer"),
        ("E1", "same_employer"),
        ("E2", "relative"),
        ("E3", "trainer"),
    }
    rows = await stack.pool.fetch(
        "SELECT application_id, examiner_id, reason FROM certification.recusals "
        "WHERE session_id = $1",
        session_id,
    )
    assert {(r["examiner_id"], r["reason"]) for r in rows} == expected
    assert {r["application_id"] for r in rows} == {conflicted_app}
    shown = (await api.get(f"/applications/{conflicted_app}", headers=auth(Role.CENTRE))).json()
    assert {(r["examiner_id"], r["reason"]) for r in shown["recusals"]} == expected
    assert (await api.get(f"/applications/{neutral_app}", headers=auth(Role.CENTRE))).json()[
        "recusals"
    ] == []

    def recused_for(application_id: str) -> Callable[[EventEnvelope], bool]:
        return lambda e: (
            e.event_type == payloads.ExaminerRecused.event_type
            and e.correlation_id == application_workflow_id(application_id)
        )

    for examiner_id, reason in sorted(expected):
        event = await events.wait_for(
            Topic.ASSESSMENT.value,
            lambda e, x=examiner_id, r=reason: (
                recused_for(conflicted_app)(e)
                and e.payload["examiner_id"] == x
                and e.payload["reason"] == r
            ),
            timeout=60,
        )
        assert event.payload["session_id"] == session_id
        assert event.person_key == key_of(stack, conflicted)
        assert conflicted not in event.model_dump_json()
    # The neutral candidate's approval is published; no recusal came with it, and the
    # conflicted candidate's recusals were published once each.
    await event_about(events, payloads.RegistrationApproved, timeout=60, application_id=neutral_app)
    assert await events.all(Topic.ASSESSMENT.value, recused_for(neutral_app)) == []
    published = await events.all(Topic.ASSESSMENT.value, recused_for(conflicted_app))
    assert sorted((e.payload["examiner_id"], e.payload["reason"]) for e in published) == sorted(
        expected
    )


# --- eligibility by years since the prior certificate -------------------------------------


def years_ago(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February
        return date(on.year - years, 2, 28)


async def test_eligibility_counts_years_since_a_certificate_the_system_issued(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    body_id = await approved_body(api, auth, levels=[5, 4])
    id_number = new_id_number()
    # Two years in the occupation and no diploma: level 4 only through 4 years since L5.
    person = candidate(id_number, years_in_occupation=2)

    level5 = await open_session(api, auth, body_id, level=5)
    application_id = await registered(api, auth, level5, person)
    await approve(api, auth, application_id)
    await start(api, auth, level5)
    passed = await enter_scores(api, auth, application_id, "E1", theory=80, practical=80)
    assert passed.json()["stage"] == "public_notice", passed.text
    issued = await certificate_issued(events, application_id)
    number = issued.payload["certificate_number"]
    assert issued.payload["level"] == 5 and issued.person_key == key_of(stack, id_number)
    assert (await api.get(f"/certificates/{number}")).json()["status"] == "valid"

    level4 = await open_session(api, auth, body_id, level=4)
    message = refused(await register(api, auth, level4, person), "level", Rule.ELIGIBILITY_NO_PATH)
    assert "needs 4 years since a level-5 certificate" in message and "(has 0.0)" in message
    await assert_no_application(stack, level4, id_number)

    # The eligibility check reads the issue date of the certificates the system issued;
    # nothing in the API back-dates one, so the certificate row is moved back in time.
    async def issued_on(day: date) -> None:
        await stack.pool.execute(
            "UPDATE certification.certificates SET issued_on = $2 WHERE certificate_number = $1",
            number,
            day,
        )

    on = today()
    one_day_short = years_ago(on, 4) + timedelta(days=1)
    assert years_between(one_day_short, on) < 4
    await issued_on(one_day_short)
    message = refused(await register(api, auth, level4, person), "level", Rule.ELIGIBILITY_NO_PATH)
    assert "(has 3.9)" in message
    await assert_no_application(stack, level4, id_number)

    await issued_on(years_ago(on, 4))
    admission = await admitted(api, auth, await register(api, auth, level4, person))
    assert (admission["level"], admission["eligibility_path"]) == (4, "L4.years_since_L5")
    assert await application_count(stack, level4) == 1
