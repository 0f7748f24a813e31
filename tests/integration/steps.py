"""What the service's users do through the API, shared by the integration tests."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from temporalio.service import RPCError, RPCStatusCode

from policy.calendar import china_date
from policy.idnumber import Sex, make_id_number
from schemas import payloads
from schemas.events import EventPayload
from skillflow.imports import finished_rows
from skillflow.settings import Role

Auth = Callable[[Role], dict[str, str]]
# 钳工: national-2018 eligibility table, levels 1-5; not a shortage occupation.
FITTER = "6-20-01-01"


def today() -> date:
    """The date the API counts in (China)."""
    return china_date(datetime.now(UTC))


def new_id_number(
    birth_from: date = date(1975, 1, 1), days: int = 10_000, sex: Sex = "M", region: str = "210102"
) -> str:
    """A fresh adult: the stack is shared by every test of the session."""
    birth = birth_from + timedelta(days=secrets.randbelow(days))
    return make_id_number(region, birth, secrets.randbelow(100), sex)


def id_number(sequence: int) -> str:
    """The same person for the same ``sequence``: tests on the shared stack each use their own."""
    return make_id_number(
        "210102", date(1990, 1, 1) + timedelta(days=sequence), sequence % 100, "M"
    )


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30) -> Any:
    """The first truthy result of ``check``, tried every 0.1 s for ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.1)


def body_filing(
    body_id: str | None = None,
    *,
    role: Role = Role.CENTRE,
    name: str = "辽宁省职业技能鉴定指导中心",
    province_code: str = "21",
    site_serial: str = "000001",
    levels: Sequence[int] = (5,),
    occupation_code: str = FITTER,
    **extra: Any,
) -> dict[str, Any]:
    """A body's filing for ``occupation_code`` at ``levels``: an enterprise's (id prefix Y)
    for role enterprise, else an assessment centre's (prefix S); a fresh id unless given."""
    return {
        "body_id": body_id or f"{'Y' if role == Role.ENTERPRISE else 'S'}{uuid.uuid4().hex[:8]}",
        "name": name,
        "province_code": province_code,
        "site_serial": site_serial,
        "scope": [{"occupation_code": occupation_code, "level": level} for level in levels],
        **extra,
    }


async def file_body(
    api: httpx.AsyncClient, auth: Auth, filing: dict[str, Any], role: Role = Role.CENTRE
) -> httpx.Response:
    """A body (``role``) files with the regulator: the answer."""
    return await api.post("/bodies", headers=auth(role), json=filing)


async def decide_filing(
    api: httpx.AsyncClient,
    auth: Auth,
    body_id: str,
    decision: dict[str, Any],
    settled: Callable[[httpx.Response], bool] = lambda answer: answer.status_code == 200,
) -> httpx.Response:
    """The regulator's ``decision`` on a filing, asked again until the answer is ``settled``
    (for 10 s at most): the filing's workflow starts a moment after the filing is taken."""
    for _ in range(100):
        answer = await api.post(
            f"/bodies/{body_id}/decision", headers=auth(Role.REGULATOR), json=decision
        )
        if settled(answer):
            break
        await asyncio.sleep(0.1)
    return answer


async def approved_body(
    api: httpx.AsyncClient, auth: Auth, *, role: Role = Role.CENTRE, **filing: Any
) -> str:
    """Files a body (``body_filing`` with ``filing``) and has the regulator approve it."""
    body = body_filing(role=role, **filing)
    response = await file_body(api, auth, body, role)
    assert response.status_code == 202, response.text
    assert response.json()["body_type"] == body["body_id"][0], response.text
    response = await decide_filing(api, auth, body["body_id"], {"approve": True})
    assert response.json()["status"] == "active", response.text
    return str(body["body_id"])


async def body_status(api: httpx.AsyncClient, auth: Auth, body_id: str, action: str) -> None:
    """The regulator suspends, reinstates or revokes a body (``action``)."""
    response = await api.post(
        f"/bodies/{body_id}/status",
        headers=auth(Role.REGULATOR),
        json={"action": action, "reason": f"{action} for the test"},
    )
    assert response.status_code == 200, response.text


async def insured(
    api: httpx.AsyncClient, auth: Auth, id_number: str, as_of: date, months: int = 30
) -> httpx.Response:
    """A records officer loads the person's months of social insurance as of ``as_of``."""
    return await api.post(
        "/incentives/insurance-records",
        json={"records": [{"id_number": id_number, "insured_months": months, "as_of": str(as_of)}]},
        headers=auth(Role.RECORDS_OFFICER),
    )


def examiner(examiner_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "examiner_id": examiner_id,
        "name": f"考评员{examiner_id}",
        "grade": "senior",
        "employer": f"EXAM-EMP-{examiner_id}",
        **extra,
    }


def examiners(n: int = 3) -> list[dict[str, Any]]:
    """A practical panel, E0 to E{n-1}, none of them in conflict with anyone."""
    return [examiner(f"E{i}") for i in range(n)]


def session_request(body_id: str, **overrides: Any) -> dict[str, Any]:
    """A level-5 FITTER session in 30 days, registration closing 10 days before it."""
    on = today()
    return {
        "session_id": f"sess-{uuid.uuid4().hex[:8]}",
        "body_id": body_id,
        "occupation_code": FITTER,
        "level": 5,
        "exam_date": str(on + timedelta(days=30)),
        "registration_closes_on": str(on + timedelta(days=20)),
        "capacity": 30,
        "theory_rooms": 1,
        "proctors": 2,
        "examiners": examiners(),
        "policy_version": "demo-fast",
        **overrides,
    }


async def open_session(api: httpx.AsyncClient, auth: Auth, body_id: str, **overrides: Any) -> str:
    """A centre opens a session (``session_request`` with ``overrides``); returns its id."""
    request = session_request(body_id, **overrides)
    response = await api.post("/sessions", headers=auth(Role.CENTRE), json=request)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "open"
    return str(request["session_id"])


async def new_session(api: httpx.AsyncClient, auth: Auth, **overrides: Any) -> str:
    """A session (``session_request`` with ``overrides``) of a newly approved centre."""
    return await open_session(api, auth, await approved_body(api, auth), **overrides)


async def workflow_exists(stack: Any, workflow_id: str) -> bool:
    """Whether Temporal knows the workflow: a refused request starts none."""
    try:
        await stack.temporal.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def event_about(
    events: Any, payload: type[EventPayload], timeout: float = 30, **fields: Any
) -> Any:
    """The first event of ``payload``'s type whose payload holds ``fields``, once the test's
    consumer has seen it on the type's topic."""
    return await events.wait_for(
        payload.topic.value,
        lambda e: (
            e.event_type == payload.event_type
            and all(e.payload.get(name) == value for name, value in fields.items())
        ),
        timeout=timeout,
    )


async def certificate_issued(events: Any, application_id: str, timeout: float = 60) -> Any:
    """The ``certificate.issued`` event of ``application_id`` (a promotion's is
    ``promotion-{id}``)."""
    return await event_about(
        events, payloads.CertificateIssued, timeout, application_id=application_id
    )


async def registered(
    api: httpx.AsyncClient,
    auth: Auth,
    session_id: str,
    name: str,
    *,
    id_number: str | None = None,
    years_in_occupation: int = 2,
    **extra: Any,
) -> str:
    """A centre registers a person (a fresh one unless ``id_number``); the application id."""
    response = await api.post(
        f"/sessions/{session_id}/applications",
        headers=auth(Role.CENTRE),
        json={
            "id_number": id_number or new_id_number(),
            "name": name,
            "years_in_occupation": years_in_occupation,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["application_id"])


async def admitted(api: httpx.AsyncClient, auth: Auth, answer: httpx.Response) -> dict[str, Any]:
    """The application a registration's ``answer`` admitted (201), as the centre reads it."""
    assert answer.status_code == 201, answer.text
    application_id = answer.json()["application_id"]
    response = await api.get(f"/applications/{application_id}", headers=auth(Role.CENTRE))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def approve(api: httpx.AsyncClient, auth: Auth, application_id: str) -> None:
    """The centre approves one registration."""
    response = await api.post(
        f"/applications/{application_id}/review", headers=auth(Role.CENTRE), json={"approve": True}
    )
    assert response.status_code == 200, response.text
    assert response.json()["stage"] == "assessment"


async def reject(api: httpx.AsyncClient, auth: Auth, application_id: str, reason: str) -> None:
    """The centre rejects one registration, with its reason."""
    response = await api.post(
        f"/applications/{application_id}/review",
        headers=auth(Role.CENTRE),
        json={"approve": False, "reason": reason},
    )
    assert response.status_code == 200, response.text
    assert response.json()["stage"] == "rejected"


async def start(
    api: httpx.AsyncClient, auth: Auth, session_id: str, role: Role = Role.CENTRE
) -> None:
    """The body (``role``) starts the exam (the roster is fixed and staffed)."""
    response = await api.post(f"/sessions/{session_id}/start", headers=auth(role))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "running"


async def approve_all_and_start(
    api: httpx.AsyncClient, auth: Auth, session_id: str, role: Role = Role.CENTRE
) -> list[str]:
    """The body (``role``) approves every waiting registration at once and starts the exam;
    the status of each review."""
    reviews = await api.post(
        f"/sessions/{session_id}/reviews", headers=auth(role), json={"approve": True}
    )
    assert reviews.status_code == 200, reviews.text
    await start(api, auth, session_id, role)
    return [r["status"] for r in reviews.json()]


async def enter_scores(
    api: httpx.AsyncClient,
    auth: Auth,
    application_id: str,
    examiner_id: str,
    *,
    role: Role = Role.CENTRE,
    **scores: float,
) -> httpx.Response:
    """An examiner's scores, entered by the registering body (``role``): the answer."""
    return await api.post(
        f"/applications/{application_id}/scores",
        headers=auth(role),
        json={"examiner_id": examiner_id, "scores": scores},
    )


async def examined(
    api: httpx.AsyncClient,
    auth: Auth,
    session_id: str,
    application_id: str,
    *,
    theory: int,
    practical: int,
) -> httpx.Response:
    """The centre approves the registration, starts the exam and enters both scores (by E1);
    the scores' accepted answer."""
    await approve(api, auth, application_id)
    await start(api, auth, session_id)
    response = await enter_scores(
        api, auth, application_id, "E1", theory=theory, practical=practical
    )
    assert response.status_code == 200, response.text
    return response


async def import_rows(
    api: httpx.AsyncClient,
    path: str,
    *,
    headers: dict[str, str],
    content: str | bytes,
) -> list[dict[str, Any]]:
    """Send a CSV import (``/sessions/{id}/applications.csv`` or ``scores.csv``), wait for
    its job to finish, and return every row's answer in row order."""
    started = await api.post(path, headers=headers | {"Content-Type": "text/csv"}, content=content)
    assert started.status_code == 202, started.text

    async def read(job_path: str, params: dict[str, int]) -> dict[str, Any]:
        answer = await api.get(job_path, headers=headers, params=params)
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        return job

    return await asyncio.wait_for(finished_rows(read, started.json()), 120)
