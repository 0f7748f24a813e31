"""Names at rest: one sealed column each, opened only for the body that needs them."""

from __future__ import annotations

import httpx
import pytest

from skillflow.settings import Role
from store.sealed import holder_name_place
from tests.integration.conftest import RunningStack
from tests.integration.steps import Auth, new_session, registered

pytestmark = pytest.mark.integration
HOLDER = "欧阳娜娜"


async def test_the_holder_name_is_sealed_and_read_by_the_registering_body(
    stack: RunningStack, api: httpx.AsyncClient, auth: Auth, worker: None
) -> None:
    session_id = await new_session(api, auth)
    application_id = await registered(api, auth, session_id, HOLDER)

    row = await stack.pool.fetchrow(
        """SELECT to_jsonb(a) AS row, holder_name_sealed FROM certification.applications a
           WHERE application_id = $1""",
        application_id,
    )
    assert HOLDER not in str(row["row"])  # every column as text: no clear name left
    assert HOLDER.encode() not in row["holder_name_sealed"]
    assert row["row"]["holder_name_masked"] == "欧阳**"
    assert (
        stack.settings.key_ring.open_text(
            row["holder_name_sealed"], holder_name_place(application_id)
        )
        == HOLDER
    )

    response = await api.get(
        f"/applications/{application_id}/holder-name", headers=auth(Role.CENTRE)
    )
    assert response.status_code == 200, response.text
    assert response.json()["holder_name"] == HOLDER
    for role in (Role.REGULATOR, Role.RECORDS_OFFICER, Role.OPERATOR):
        response = await api.get(f"/applications/{application_id}/holder-name", headers=auth(role))
        assert response.status_code == 403
    # The ordinary view keeps the masked name only.
    response = await api.get(f"/applications/{application_id}", headers=auth(Role.CENTRE))
    assert HOLDER not in response.text


async def test_examiner_names_are_sealed_apart_from_the_conflict_facts(
    stack: RunningStack, api: httpx.AsyncClient, auth: Auth, worker: None
) -> None:
    session_id = await new_session(api, auth)
    row = await stack.pool.fetchrow(
        "SELECT examiners, examiner_names_sealed FROM certification.sessions WHERE session_id = $1",
        session_id,
    )
    assert [e["examiner_id"] for e in row["examiners"]] == ["E0", "E1", "E2"]
    assert all("name" not in e for e in row["examiners"])
    assert "考评员".encode() not in row["examiner_names_sealed"]

    response = await api.get(f"/sessions/{session_id}/examiners", headers=auth(Role.CENTRE))
    assert response.status_code == 200, response.text
    assert [(e["examiner_id"], e["name"]) for e in response.json()] == [
        ("E0", "考评员E0"),
        ("E1", "考评员E1"),
        ("E2", "考评员E2"),
    ]
    response = await api.get(f"/sessions/{session_id}/examiners", headers=auth(Role.REGULATOR))
    assert response.status_code == 403
