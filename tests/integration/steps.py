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


async def approved_body(
    api: httpx.AsyncClient,
    auth: Auth,
    *,
    role: Role = Role.CENTRE,
    levels: Sequence[int] = (5,),
    occupation_code: str = FITTER,
    province_code: str = "21",
    site_serial: str = "000001",
    name: str = "辽宁省职业技能鉴定指导中心",
    **filing: Any,
) -> str:
    """Files a body for ``occupation_code`` at ``levels`` (an enterprise, prefix Y, for role
    enterprise; else an assessment centre, prefix S) and has the regulator approve it."""
    body_id = f"{'Y' if role == Role.ENTERPRISE else 'S'}{uuid.uuid4().hex[:8]}"
    response = await api.post(
        "/bodies",
        headers=auth(role),
        json={
            "body_id": body_id,
            "name": name,
            "province_code": province_code,
            "site_serial": site_serial,
            "scope": [{"occupation_code": occupation_code, "level": level} for level in levels],
            **filing,
        },
    )
    assert response.status_code == 202, response.text
    assert response.json()["body_type"] == body_id[0], response.text
    for _ in range(100):
        response = await api.post(
            f"/bodies/{body_id}/decision", headers=auth(Role.REGULATOR), json={"approve": True}
        )
        if response.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert response.json()["status"] == "active", response.text
    return body_id


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


async def workflow_exists(stack: Any, workflow_id: str) -> bool:
    """Whether Temporal knows the workflow: a refused request starts none."""
    try:
        await stack.temporal.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


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
