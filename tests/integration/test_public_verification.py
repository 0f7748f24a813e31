"""Public verification: a number alone tells status, occupation and level, nothing about the
holder; the holder's details need their name; anonymous calls are rate-limited."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from skillflow.settings import Role
from tests.integration.steps import (
    Auth,
    eventually,
    new_session,
    registered,
    today,
)

pytestmark = pytest.mark.integration

HOLDER = "欧阳娜娜"


def unknown_number() -> str:
    """Well-formed, never issued (a body in Beijing, serial drawn at random)."""
    return f"S000011000000{today().year % 100:02d}4{secrets.randbelow(10**6):06d}"


HOLDER_DETAILS = {"holder_name_masked", "body_id", "body_name", "issued_on", "revoked_on"}


@pytest.fixture(scope="module")
async def issued(stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth) -> str:
    """A certificate issued through the real flow to ``HOLDER``: its number."""
    session_id = await new_session(api, auth)
    application_id = await registered(api, auth, session_id, HOLDER, years_in_occupation=8)
    for path, body in (
        (f"/applications/{application_id}/review", {"approve": True}),
        (f"/sessions/{session_id}/start", None),
        (
            f"/applications/{application_id}/scores",
            {"examiner_id": "E1", "scores": {"theory": 75, "practical": 82}},
        ),
    ):
        answer = await api.post(path, headers=auth(Role.CENTRE), json=body)
        assert answer.status_code == 200, answer.text

    async def certificate_number() -> str | None:
        shown = await api.get(f"/applications/{application_id}", headers=auth(Role.CENTRE))
        number: str | None = shown.json()["certificate_number"]
        return number

    return str(await eventually(certificate_number, timeout=60))


async def test_a_number_alone_tells_status_occupation_and_level_only(
    api: httpx.AsyncClient, issued: str
) -> None:
    answer = await api.get(f"/certificates/{issued}")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "certificate_number": issued,
        "status": "valid",
        "occupation_code": "6-20-01-01",
        "occupation_name": answer.json()["occupation_name"],
        "level": 5,
        "imported": False,
    }
    assert "欧阳" not in answer.text and "*" not in answer.text


async def test_the_number_and_the_holders_name_give_the_details(
    api: httpx.AsyncClient, issued: str
) -> None:
    answer = await api.post(
        f"/certificates/{issued}/verification", json={"holder_name": f" {HOLDER} "}
    )
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert shown["holder_name_matches"] is True
    assert shown["holder_name_masked"] == "欧阳**"
    assert shown["body_name"] and shown["issued_on"] and shown["status"] == "valid"


@pytest.mark.parametrize("wrong", ["欧阳娜", "欧阳**", "欧阳丽丽", "王娜娜"])
async def test_a_wrong_name_gets_no_details(
    api: httpx.AsyncClient, issued: str, wrong: str
) -> None:
    answer = await api.post(f"/certificates/{issued}/verification", json={"holder_name": wrong})
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert shown["holder_name_matches"] is False and shown["status"] == "valid"
    assert all(shown[field] is None for field in HOLDER_DETAILS)


async def test_an_unknown_number_is_unknown_with_or_without_a_name(
    api: httpx.AsyncClient,
) -> None:
    number = unknown_number()
    assert (await api.get(f"/certificates/{number}")).json()["status"] == "unknown"
    with_name = await api.post(f"/certificates/{number}/verification", json={"holder_name": HOLDER})
    assert with_name.json()["status"] == "unknown"
    assert with_name.json()["holder_name_matches"] is False


async def test_the_records_service_answers_the_same_way(
    api: httpx.AsyncClient, consumers: None, issued: str
) -> None:
    async def archived() -> Any:
        answer = await api.get(f"/records/certificates/{issued}")
        return answer.json() if answer.status_code == 200 else None

    alone = await eventually(archived, timeout=60)
    assert set(alone) == {"certificate_number", "status", "occupation_code", "level", "imported"}
    right = await api.post(
        f"/records/certificates/{issued}/verification", json={"holder_name": HOLDER}
    )
    assert right.json()["holder_name_masked"] == "欧阳**" and right.json()["body_id"]
    wrong = await api.post(
        f"/records/certificates/{issued}/verification", json={"holder_name": "欧阳丽丽"}
    )
    assert wrong.json()["holder_name_matches"] is False
    assert wrong.json()["holder_name_masked"] is None and wrong.json()["body_id"] is None


@pytest.fixture
async def strict_api(stack: Any) -> AsyncIterator[Any]:
    """The API with a small public allowance: three calls, then one a minute."""
    settings = stack.settings.model_copy(
        update={"public_calls_burst": 3, "public_calls_per_minute": 1}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_anonymous_calls_past_the_limit_get_429_with_retry_after(
    strict_api: Any, auth: Auth
) -> None:
    def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=strict_api, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://api")

    number = unknown_number()
    async with client("203.0.113.7") as walker, client("198.51.100.2") as employer:
        answers = [await walker.get(f"/certificates/{number}") for _ in range(3)]
        answers.append(
            await walker.post(f"/certificates/{number}/verification", json={"holder_name": "王"})
        )
        answers.append(await walker.get(f"/records/certificates/{number}"))
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
        refused = answers[3]
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["errors"][0]["rule"] == "request.rate_limited"
        # Another address has its own allowance.
        assert (await employer.get(f"/certificates/{number}")).status_code == 200
        # Callers with a token are not counted against it.
        overview = await walker.get("/operations/overview", headers=auth(Role.OPERATOR))
        assert overview.status_code == 200, overview.text
        assert overview.json()["public_calls_refused"] == 2
