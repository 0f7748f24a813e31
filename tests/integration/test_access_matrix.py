"""Every route of the OpenAPI document, with every role, a token bound to another body, a
revoked token and no token: the expected status, and nothing changed by a refusal.

The matrix is data: a route without a row fails the test, so a new route must say who may
call it before it ships.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.app import create_app
from policy.rule_ids import Rule
from schemas.workflow_ids import application_workflow_id, body_workflow_id, session_workflow_id
from skillflow.settings import Role
from store.tokens import create_token, revoke_token

from .steps import (
    FITTER,
    approved_body,
    import_rows,
    new_id_number,
    open_session,
    session_request,
)

pytestmark = pytest.mark.integration

BODY_ROLES = frozenset({Role.CENTRE, Role.ENTERPRISE})
SUPERVISORS = frozenset({Role.REGULATOR, Role.RECORDS_OFFICER})
REGULATOR = frozenset({Role.REGULATOR})
RECORDS_OFFICER = frozenset({Role.RECORDS_OFFICER})
OPERATOR = frozenset({Role.OPERATOR})
ORGANISER = frozenset({Role.ORGANISER})
JUDGE = frozenset({Role.JUDGE})


@dataclass(frozen=True)
class Access:
    """Who may call a route. ``owned``: a centre or enterprise may call it only for its own
    body's objects (the other body's token gets 403). ``allowed`` None: the public."""

    allowed: frozenset[Role] | None
    owned: bool = False


PUBLIC = Access(None)

MATRIX: dict[tuple[str, str], Access] = {
    ("GET", "/health/live"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
    ("GET", "/operations/overview"): Access(OPERATOR),
    ("GET", "/operations/dead-letters"): Access(OPERATOR),
    ("POST", "/operations/dead-letters/{dead_letter_id}/replay"): Access(OPERATOR),
    ("POST", "/operations/dead-letters/{dead_letter_id}/discard"): Access(OPERATOR),
    ("GET", "/operations/processes"): Access(OPERATOR),
    ("GET", "/operations/waiting"): Access(OPERATOR),
    ("GET", "/operations/event-flow"): Access(OPERATOR),
    ("GET", "/operations/roles"): Access(OPERATOR),
    ("GET", "/operations/history"): Access(OPERATOR),
    ("GET", "/operations/summary"): Access(OPERATOR),
    ("GET", "/operations/repairs"): Access(OPERATOR),
    ("POST", "/operations/workflows/{workflow_id}/reset"): Access(OPERATOR),
    ("POST", "/operations/workflows/{workflow_id}/terminate"): Access(OPERATOR),
    ("POST", "/operations/workflows/{workflow_id}/recheck"): Access(OPERATOR),
    ("POST", "/operations/outbox/{event_id}/republish"): Access(OPERATOR),
    ("POST", "/bodies"): Access(BODY_ROLES, owned=True),
    ("GET", "/bodies/{body_id}"): Access(BODY_ROLES | SUPERVISORS, owned=True),
    ("POST", "/bodies/{body_id}/decision"): Access(REGULATOR),
    ("POST", "/bodies/{body_id}/status"): Access(REGULATOR),
    ("POST", "/bodies/{body_id}/commissions"): Access(frozenset({Role.ENTERPRISE}), owned=True),
    ("POST", "/bodies/{body_id}/quality-samples"): Access(REGULATOR),
    ("POST", "/bodies/{body_id}/quality-reviews"): Access(REGULATOR),
    ("POST", "/sessions"): Access(BODY_ROLES, owned=True),
    ("GET", "/sessions/{session_id}"): Access(BODY_ROLES | SUPERVISORS, owned=True),
    ("POST", "/sessions/{session_id}/start"): Access(BODY_ROLES, owned=True),
    ("POST", "/sessions/{session_id}/close"): Access(BODY_ROLES, owned=True),
    ("GET", "/sessions/{session_id}/applications"): Access(BODY_ROLES | SUPERVISORS, owned=True),
    ("POST", "/sessions/{session_id}/applications"): Access(BODY_ROLES, owned=True),
    ("POST", "/sessions/{session_id}/applications.csv"): Access(BODY_ROLES, owned=True),
    ("POST", "/sessions/{session_id}/reviews"): Access(BODY_ROLES, owned=True),
    ("POST", "/sessions/{session_id}/scores.csv"): Access(BODY_ROLES, owned=True),
    ("GET", "/sessions/{session_id}/imports/{job_id}"): Access(
        BODY_ROLES | SUPERVISORS, owned=True
    ),
    ("GET", "/applications/{application_id}"): Access(BODY_ROLES | SUPERVISORS, owned=True),
    ("POST", "/applications/{application_id}/review"): Access(BODY_ROLES, owned=True),
    ("POST", "/applications/{application_id}/scores"): Access(BODY_ROLES, owned=True),
    ("POST", "/applications/{application_id}/score-corrections"): Access(BODY_ROLES, owned=True),
    ("POST", "/applications/{application_id}/objections"): Access(
        BODY_ROLES | REGULATOR, owned=True
    ),
    ("POST", "/applications/{application_id}/objections/{objection_id}/resolution"): Access(
        REGULATOR
    ),
    ("GET", "/certificates/{certificate_number}"): PUBLIC,
    ("POST", "/certificates/{certificate_number}/verification"): PUBLIC,
    ("POST", "/certificates/{certificate_number}/credential"): PUBLIC,
    ("POST", "/certificates/{certificate_number}/certificate.pdf"): PUBLIC,
    ("POST", "/credentials/keys"): Access(OPERATOR),
    ("GET", "/.well-known/did.json"): PUBLIC,
    ("GET", "/bodies/{body_id}/did.json"): PUBLIC,
    ("GET", "/credentials/status/{body_id}/{list_number}"): PUBLIC,
    ("POST", "/certificates/{certificate_number}/revocation"): Access(REGULATOR),
    ("POST", "/records/archives/lookup"): Access(SUPERVISORS),
    ("GET", "/records/archives/{person_key}"): Access(SUPERVISORS),
    ("GET", "/records/archives/{person_key}/export.json"): Access(RECORDS_OFFICER),
    ("GET", "/records/archives/{person_key}/transcript.pdf"): Access(RECORDS_OFFICER),
    ("GET", "/records/certificates/{certificate_number}"): PUBLIC,
    ("POST", "/records/certificates/{certificate_number}/verification"): PUBLIC,
    ("POST", "/records/prior-certificates"): Access(RECORDS_OFFICER),
    ("POST", "/records/prior-certificates.csv"): Access(RECORDS_OFFICER),
    ("GET", "/records/bodies/statistics"): Access(SUPERVISORS | OPERATOR),
    ("GET", "/records/bodies/{body_id}/statistics"): Access(SUPERVISORS | OPERATOR),
    ("POST", "/incentives/insurance-records"): Access(RECORDS_OFFICER),
    ("POST", "/incentives/insurance-records/import"): Access(RECORDS_OFFICER),
    ("POST", "/incentives/training-subsidies"): Access(RECORDS_OFFICER),
    ("POST", "/incentives/training-subsidies/import"): Access(RECORDS_OFFICER),
    ("GET", "/incentives/claims"): Access(SUPERVISORS),
    ("GET", "/incentives/claims/{claim_id}"): Access(SUPERVISORS),
    ("POST", "/incentives/claims/{claim_id}/release"): Access(REGULATOR),
    ("POST", "/incentives/claims/{claim_id}/reject"): Access(REGULATOR),
    ("POST", "/incentives/claims/{claim_id}/reconsideration"): Access(REGULATOR),
    ("GET", "/incentives/people/{person_key}"): Access(SUPERVISORS),
    ("POST", "/codec/decode"): Access(OPERATOR),
    ("POST", "/codec/encode"): Access(OPERATOR),
    ("GET", "/applications/{application_id}/holder-name"): Access(BODY_ROLES, owned=True),
    ("GET", "/sessions/{session_id}/examiners"): Access(BODY_ROLES, owned=True),
    # Competitions: an organiser acts on its organising bodies' competitions, a judge on
    # its competitions (scopes are tested in test_competition_ladder.py).
    ("POST", "/competitions"): Access(ORGANISER),
    ("GET", "/competitions/{competition_id}"): Access(ORGANISER | SUPERVISORS),
    ("POST", "/competitions/{competition_id}/close-entries"): Access(ORGANISER),
    ("POST", "/competitions/{competition_id}/locks"): Access(ORGANISER),
    ("POST", "/competitions/{competition_id}/publish"): Access(ORGANISER),
    ("POST", "/competitions/{competition_id}/entries"): Access(ORGANISER),
    ("POST", "/competitions/{competition_id}/entries.csv"): Access(ORGANISER),
    ("GET", "/competitions/{competition_id}/entries"): Access(ORGANISER | JUDGE | SUPERVISORS),
    ("POST", "/competitions/{competition_id}/nominations"): Access(ORGANISER),
    ("POST", "/competitions/{competition_id}/judges"): Access(ORGANISER),
    ("GET", "/competitions/{competition_id}/judges/me"): Access(JUDGE),
    ("POST", "/competitions/{competition_id}/marks"): Access(JUDGE),
    ("POST", "/competitions/{competition_id}/marks.csv"): Access(JUDGE),
    ("POST", "/competitions/{competition_id}/corrections"): Access(ORGANISER),
    ("GET", "/competitions/{competition_id}/audit"): Access(ORGANISER | SUPERVISORS),
    ("GET", "/competitions/{competition_id}/leaderboard"): Access(ORGANISER),
    ("GET", "/competitions/{competition_id}/results"): PUBLIC,
    ("GET", "/competitions/{competition_id}/results.csv"): PUBLIC,
    ("POST", "/competitions/{competition_id}/worldskills-results"): Access(ORGANISER),
    ("POST", "/squads"): Access(ORGANISER),
    ("GET", "/squads/{squad_id}"): Access(ORGANISER),
    ("POST", "/squads/{squad_id}/rounds/{round_number}/scores"): Access(ORGANISER),
    ("POST", "/squads/{squad_id}/withdrawals"): Access(ORGANISER),
    ("POST", "/squads/{squad_id}/rounds/{round_number}/close"): Access(ORGANISER),
}


@dataclass
class World:
    """Two centres' bodies (A, B) and an enterprise's (E), each with a session and an
    application; one bound token per role and body, a revoked token."""

    tokens: dict[str, str]
    objects: dict[str, dict[str, str]]  # body name -> {path parameter: id}


def routes(api_app: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in api_app.openapi()["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def fill(path: str, objects: dict[str, str]) -> str:
    defaults = {
        "certificate_number": "S000021000001264000015",
        "person_key": "0" * 64,
        "claim_id": "no-such-claim",
        "dead_letter_id": "999999999",
        "objection_id": "no-such-objection",
        "workflow_id": "no-such-workflow",
        "event_id": "00000000-0000-0000-0000-000000000000",
        "list_number": "0",
        "job_id": "imp-no-such-job",
    }
    return re.sub(r"\{(\w+)\}", lambda m: objects.get(m[1], defaults.get(m[1], m[1])), path)


def content(method: str, path: str, objects: dict[str, str]) -> dict[str, Any]:
    """A request that names the caller's own objects where the content names a body."""
    if (method, path) == ("POST", "/sessions"):
        return {"json": session_request(objects["body_id"])}
    if (method, path) == ("POST", "/bodies"):
        filing = {"name": "x", "province_code": "21", "site_serial": "000001"}
        scope = [{"occupation_code": FITTER, "level": 5}]
        return {"json": {"body_id": objects["body_id"], "scope": scope, **filing}}
    if path.endswith(".csv") or path.endswith("/import"):
        return {"content": b"a,b\n", "headers": {"Content-Type": "text/csv"}}
    return {"json": {}} if method == "POST" else {}


async def _world(stack: Any, api: httpx.AsyncClient, auth: Any) -> World:
    bodies = {
        "A": await approved_body(api, auth),
        "B": await approved_body(api, auth),
        "E": await approved_body(api, auth, role=Role.ENTERPRISE),
    }
    objects: dict[str, dict[str, str]] = {}
    for name, body_id in bodies.items():
        role = Role.ENTERPRISE if name == "E" else Role.CENTRE
        if role == Role.CENTRE:
            session_id = await open_session(api, auth, body_id)
        else:
            request = session_request(body_id)
            response = await api.post("/sessions", headers=auth(role), json=request)
            assert response.status_code == 201, response.text
            session_id = request["session_id"]
        registered = await api.post(
            f"/sessions/{session_id}/applications",
            headers=auth(role),
            json={
                "id_number": new_id_number(),
                "name": "钱七",
                "years_in_occupation": 2,
                "relationship": "employee",
            },
        )
        assert registered.status_code == 201, registered.text
        objects[name] = {
            "body_id": body_id,
            "session_id": session_id,
            "application_id": registered.json()["application_id"],
        }
    run = uuid.uuid4().hex[:6]
    tokens: dict[str, str] = {}
    async with stack.pool.acquire() as conn:
        for key, role, scope in [
            ("centre@A", Role.CENTRE, [bodies["A"]]),
            ("centre@B", Role.CENTRE, [bodies["B"]]),
            ("enterprise@E", Role.ENTERPRISE, [bodies["E"]]),
            ("regulator", Role.REGULATOR, []),
            ("records_officer", Role.RECORDS_OFFICER, []),
            ("operator", Role.OPERATOR, []),
            ("organiser", Role.ORGANISER, ["ORG-NONE"]),
            ("judge", Role.JUDGE, ["COMP-NONE"]),
            ("revoked", Role.REGULATOR, []),
        ]:
            tokens[key] = await create_token(
                conn, role=role, name=f"{key}-{run}", bodies=scope, created_by="test"
            )
        assert await revoke_token(conn, f"revoked-{run}", revoked_by="test")
    return World(tokens=tokens, objects=objects)


async def _state(stack: Any, world: World) -> tuple[Any, ...]:
    """What a refusal must not change: the three bodies' rows, their events in the outbox,
    and the length of their workflows' histories."""
    ids = sorted({v for objects in world.objects.values() for v in objects.values()})
    bodies = [objects["body_id"] for objects in world.objects.values()]
    rows = await stack.pool.fetchval(
        """SELECT md5(string_agg(r, '|' ORDER BY r)) FROM (
             SELECT b::text r FROM certification.bodies b WHERE body_id = ANY($1)
             UNION ALL SELECT s::text FROM certification.sessions s WHERE body_id = ANY($1)
             UNION ALL SELECT a::text FROM certification.applications a WHERE body_id = ANY($1)
             UNION ALL SELECT c::text FROM certification.commissions c WHERE body_id = ANY($1)
             UNION ALL SELECT x::text FROM certification.score_audit x
                       WHERE application_id = ANY($2)
             UNION ALL SELECT o::text FROM certification.objections o
                       WHERE application_id = ANY($2)
             UNION ALL SELECT t::text FROM access.tokens t) all_rows""",
        bodies,
        ids,
    )
    events = await stack.pool.fetchval(
        "SELECT count(*) FROM outbox.events WHERE envelope::text LIKE ANY($1::text[])",
        [f"%{i}%" for i in ids],
    )
    histories = [
        (
            workflow_id,
            len((await stack.temporal.get_workflow_handle(workflow_id).fetch_history()).events),
        )
        for workflow_id in _workflow_ids(world)
    ]
    return rows, events, histories


def _workflow_ids(world: World) -> list[str]:
    found = []
    for objects in world.objects.values():
        found += [
            body_workflow_id(objects["body_id"]),
            session_workflow_id(objects["session_id"]),
            application_workflow_id(objects["application_id"]),
        ]
    return found


def _role_token(world: World, role: Role, own: str) -> str:
    """The caller of ``role`` acting on body ``own``'s objects."""
    if role == Role.CENTRE:
        return world.tokens["centre@A"] if own == "A" else world.tokens["centre@B"]
    if role == Role.ENTERPRISE:
        return world.tokens["enterprise@E"]
    return world.tokens[role.value]


async def test_every_route_refuses_whom_the_matrix_refuses_and_nothing_changes(
    stack, worker, api, auth
) -> None:
    app = create_app(stack.settings)
    listed = {(method, path) for method, path, _ in routes(app)}
    assert listed - MATRIX.keys() == set(), "routes without a row in the access matrix"
    assert MATRIX.keys() - listed == set(), "rows for routes that no longer exist"

    world = await _world(stack, api, auth)
    before = await _state(stack, world)
    refusals: list[tuple[str, str, str, int]] = []  # who, method, path, status
    probes = 0

    async def expect(who: str, token: str | None, method: str, path: str, owner: str, want: int):
        nonlocal probes
        probes += 1
        objects = world.objects[owner]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = content(method, path, objects)
        headers |= request.pop("headers", {})
        response = await api.request(method, fill(path, objects), headers=headers, **request)
        if response.status_code != want:
            refusals.append((who, method, path, response.status_code))

    for (method, path), access in sorted(MATRIX.items()):
        if access.allowed is None:
            continue
        owner = "E" if access.allowed == {Role.ENTERPRISE} else "A"
        await expect("no token", None, method, path, owner, 401)
        await expect("revoked", world.tokens["revoked"], method, path, owner, 401)
        await expect("unknown", "not-a-token", method, path, owner, 401)
        for role in Role:
            if role not in access.allowed:
                await expect(role.value, _role_token(world, role, owner), method, path, owner, 403)
        if access.owned:
            # A centre bound to another body, and an enterprise on a centre's body (or the
            # reverse): both act for bodies that are not this object's.
            if owner == "A":
                await expect("centre@B", world.tokens["centre@B"], method, path, "A", 403)
                if Role.ENTERPRISE in access.allowed:
                    await expect(
                        "enterprise@E", world.tokens["enterprise@E"], method, path, "A", 403
                    )
            if Role.CENTRE in access.allowed and owner == "A":
                await expect("centre@A on E", world.tokens["centre@A"], method, path, "E", 403)
    assert refusals == [], f"{len(refusals)} of {probes} probes answered otherwise"
    assert await _state(stack, world) == before, "a refused request changed something"

    # Then each permitted caller gets past the door (the answer may still be a 404 or 422
    # for the test's minimal request, never 401 or 403).
    admitted: list[tuple[str, str, str, int]] = []
    for (method, path), access in sorted(MATRIX.items()):
        roles = access.allowed if access.allowed is not None else frozenset()
        for role in sorted(roles):
            owner = "E" if role == Role.ENTERPRISE else "A"
            token = _role_token(world, role, owner)
            objects = world.objects[owner]
            request = content(method, path, objects)
            headers = {"Authorization": f"Bearer {token}"} | request.pop("headers", {})
            response = await api.request(method, fill(path, objects), headers=headers, **request)
            probes += 1
            if response.status_code in (401, 403) or response.status_code >= 500:
                admitted.append((role.value, method, path, response.status_code))
    assert admitted == [], "permitted callers refused or failed"
    print(f"access matrix: {len(MATRIX)} routes, {probes} probes")


async def test_bulk_calls_and_csv_rows_refuse_another_sessions_applications(
    stack, worker, api, auth
) -> None:
    world = await _world(stack, api, auth)
    mine, theirs = world.objects["A"], world.objects["B"]
    centre_a = {"Authorization": f"Bearer {world.tokens['centre@A']}"}
    before = await _state(stack, world)

    reviewed = await api.post(
        f"/sessions/{mine['session_id']}/reviews",
        headers=centre_a,
        json={"approve": True, "application_ids": [theirs["application_id"]]},
    )
    assert reviewed.status_code == 200, reviewed.text
    [report] = reviewed.json()
    assert report["status"] == "refused"
    assert [e["rule"] for e in report["errors"]] == [Rule.ACCESS_NOT_IN_SESSION]

    [scored] = await import_rows(
        api,
        f"/sessions/{mine['session_id']}/scores.csv",
        headers=centre_a,
        content=f"application_id,examiner_id,theory\n{theirs['application_id']},E0,90\n",
    )
    assert [e["rule"] for e in scored["errors"]] == [Rule.ACCESS_NOT_IN_SESSION]
    # The other centre's application is still awaiting its own centre's review.
    assert await _state(stack, world) == before
