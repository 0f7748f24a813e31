"""Registration to verifiable certificate through the API, on the real stack."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError

from api.app import create_app
from policy.idnumber import make_id_number
from policy.rule_ids import Rule
from schemas import payloads
from schemas.workflow_ids import body_workflow_id
from skillflow.settings import Role, TokenHolder
from tests.integration.conftest import CENTRE_STAFF
from tests.integration.steps import (
    FITTER,
    Auth,
    approve_all_and_start,
    approved_body,
    body_filing,
    certificate_issued,
    decide_filing,
    enter_scores,
    event_about,
    examined,
    file_body,
    id_number,
    import_rows,
    new_id_number,
    new_session,
    open_session,
    registered,
    reject,
    session_request,
)

pytestmark = pytest.mark.integration


async def test_registration_to_verified_certificate(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    session_id = await new_session(api, auth)
    number = id_number(1)
    response = await api.post(
        f"/sessions/{session_id}/applications",
        headers=auth(Role.CENTRE),
        json={"id_number": number, "name": "张三丰", "years_in_occupation": 2, "employer": "EMP-A"},
    )
    assert response.status_code == 201, response.text
    application_id = response.json()["application_id"]
    assert number not in response.text

    response = await examined(api, auth, session_id, application_id, theory=75, practical=82)
    assert response.json()["stage"] == "public_notice"

    issued = await certificate_issued(events, application_id)
    certificate_number = issued.payload["certificate_number"]
    assert certificate_number.startswith("S000021000001")
    assert certificate_number[13:15] == f"{date.today().year % 100:02d}"
    assert certificate_number[15] == "5"
    assert issued.payload["holder_name_masked"] == "张**"
    assert number not in issued.model_dump_json()

    verification = (await api.get(f"/certificates/{certificate_number}")).json()
    assert verification["status"] == "valid"
    assert "holder_name_masked" not in verification and "body_name" not in verification
    with_name = await api.post(
        f"/certificates/{certificate_number}/verification", json={"holder_name": "张三丰"}
    )
    assert with_name.json()["holder_name_masked"] == "张**", with_name.text
    listing = (
        await api.get(f"/sessions/{session_id}/applications", headers=auth(Role.CENTRE))
    ).json()
    assert listing[0]["certificate_number"] == certificate_number

    response = await api.post(
        f"/certificates/{certificate_number}/revocation",
        headers=auth(Role.REGULATOR),
        json={"reason": "scores altered after sign-off"},
    )
    assert response.status_code == 200, response.text
    revoked = await event_about(
        events, payloads.CertificateRevoked, certificate_number=certificate_number
    )
    assert revoked.person_key == issued.person_key
    assert (await api.get(f"/certificates/{certificate_number}")).json()["status"] == "revoked"
    # Resubmitted as it was, the revocation stands; with another reason it is refused and
    # the recorded reason is not rewritten.
    again = await api.post(
        f"/certificates/{certificate_number}/revocation",
        headers=auth(Role.REGULATOR),
        json={"reason": "scores altered after sign-off"},
    )
    assert again.json()["status"] == "revoked", again.text
    other = await api.post(
        f"/certificates/{certificate_number}/revocation",
        headers=auth(Role.REGULATOR),
        json={"reason": "another reason"},
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["rule"] == Rule.CERTIFICATE_ALREADY_REVOKED
    reason = await stack.pool.fetchval(
        "SELECT revoked_reason FROM certification.certificates WHERE certificate_number = $1",
        certificate_number,
    )
    assert reason == "scores altered after sign-off"
    unknown = (await api.get("/certificates/S000021000001265999999")).json()
    assert unknown["status"] == "unknown"


async def test_registration_rules_name_the_rule_and_write_nothing(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    body_id = await approved_body(api, auth)
    session_id = await open_session(api, auth, body_id)
    bad_check = id_number(2)[:-1] + ("0" if id_number(2)[-1] != "0" else "1")
    cases = [
        (
            {"id_number": bad_check, "name": "李四", "years_in_occupation": 2},
            Rule.ID_NUMBER_CHECK_CHARACTER,
        ),
        (
            {
                "id_number": make_id_number(
                    "210102", date.today() - timedelta(days=365 * 10), 1, "F"
                ),
                "name": "李四",
                "years_in_occupation": 2,
            },
            Rule.ID_NUMBER_MIN_AGE,
        ),
        (
            {"id_number": id_number(3), "name": "李四", "years_in_occupation": 0.5},
            Rule.ELIGIBILITY_NO_PATH,
        ),
    ]
    for payload, rule in cases:
        response = await api.post(
            f"/sessions/{session_id}/applications", headers=auth(Role.CENTRE), json=payload
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["rule"] == rule
        assert payload["id_number"] not in response.text
    ok = {"id_number": id_number(4), "name": "王五", "years_in_occupation": 3}
    first = await api.post(
        f"/sessions/{session_id}/applications", headers=auth(Role.CENTRE), json=ok
    )
    assert first.status_code == 201
    other_session = await open_session(api, auth, body_id)
    duplicate = await api.post(
        f"/sessions/{other_session}/applications", headers=auth(Role.CENTRE), json=ok
    )
    assert duplicate.json()["errors"][0]["rule"] == Rule.REGISTRATION_DUPLICATE
    count = await stack.pool.fetchval(
        "SELECT count(*) FROM certification.applications WHERE session_id = $1", session_id
    )
    assert count == 1


async def test_csv_import_reports_row_by_row(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    session_id = await new_session(api, auth)
    rows = ["id_number,name,years_in_occupation,employer"]
    rows += [f"{id_number(100 + i)},候选人{i},2,EMP-{i}" for i in range(5)]
    rows.append("110101199001011234,坏行,2,EMP-X")
    rows.append(f"{id_number(200)},年限不足,0.2,EMP-Y")
    report = await import_rows(
        api,
        f"/sessions/{session_id}/applications.csv",
        headers=auth(Role.CENTRE),
        content="\n".join(rows),
    )
    assert [r["status"] for r in report] == ["accepted"] * 5 + ["rejected", "rejected"]
    assert report[5]["errors"][0]["rule"].startswith("id_number.")
    assert report[6]["errors"][0]["rule"] == Rule.ELIGIBILITY_NO_PATH

    reviewed = await approve_all_and_start(api, auth, session_id)
    assert reviewed == ["approved"] * 5
    ids = [r["application_id"] for r in report[:5]]
    score_rows = ["application_id,examiner_id,theory,practical"]
    score_rows += [
        f"{ids[0]},E1,80,80",
        f"{ids[1]},E1,40,90",
        f"{ids[2]},E1,101,80",
        f"{ids[3]},E9,70,70",
        # A blank examiner fails the score sheet's own model: still one refused row.
        f"{ids[4]},,70,70",
    ]
    report = await import_rows(
        api,
        f"/sessions/{session_id}/scores.csv",
        headers=auth(Role.CENTRE),
        content="\n".join(score_rows),
    )
    assert [r["status"] for r in report] == ["accepted", "accepted"] + ["rejected"] * 3
    assert report[1]["stage"] == "resit"
    assert report[2]["errors"][0]["rule"] == Rule.SCORE_RANGE
    assert report[3]["errors"][0]["rule"] == Rule.SCORE_EXAMINER_NOT_ASSIGNED
    assert report[4]["errors"][0]["field"].endswith("examiner_id"), report[4]
    assert report[4]["errors"][0]["rule"] == "request.string_too_short"
    for refused in ids[2:]:
        untouched = (await api.get(f"/applications/{refused}", headers=auth(Role.CENTRE))).json()
        assert (untouched["stage"], untouched["scores"]) == ("assessment", {}), untouched
    await certificate_issued(events, ids[0])
    failed = await event_about(events, payloads.AssessmentFailed, application_id=ids[1])
    assert failed.payload["failed_components"] == ["theory"]


async def test_filing_with_an_unknown_province_is_refused_and_not_recorded(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    filing = body_filing(name="不存在的省份", province_code="99")
    body_id = filing["body_id"]
    response = await file_body(api, auth, filing)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["rule"]) == ("province_code", Rule.BODY_PROVINCE_UNKNOWN)
    # Refused before the filing workflow: no body to approve, so none can issue, and no
    # workflow was started to fail (operators would see bad input as failed work).
    assert (await api.get(f"/bodies/{body_id}", headers=auth(Role.REGULATOR))).status_code == 404
    with pytest.raises(RPCError):
        await stack.temporal.get_workflow_handle(body_workflow_id(body_id)).describe()


async def test_closing_waits_for_first_round_scores_and_re_sits_follow_it(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    session_id = await new_session(api, auth)
    ids = [await registered(api, auth, session_id, name) for name in ("赵一", "钱二")]
    await approve_all_and_start(api, auth, session_id)
    sat, absent = ids
    response = await enter_scores(api, auth, sat, "E1", theory=40, practical=80)
    assert response.json()["stage"] == "resit", response.text

    # One candidate has no score yet: closing now would strand them in assessment.
    response = await api.post(f"/sessions/{session_id}/close", headers=auth(Role.CENTRE))
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == Rule.SESSION_SCORES_OUTSTANDING
    session = (await api.get(f"/sessions/{session_id}", headers=auth(Role.CENTRE))).json()
    assert session["status"] == "running"

    response = await enter_scores(api, auth, absent, "E1", theory=0, practical=0)
    assert response.status_code == 200, response.text
    response = await api.post(f"/sessions/{session_id}/close", headers=auth(Role.CENTRE))
    assert response.status_code == 200, response.text
    for status in ("started", "closed"):
        await events.wait_for(
            "skills.assessment",
            lambda e, status=status: (
                e.event_type == f"session.{status}" and e.payload["session_id"] == session_id
            ),
        )

    # The re-sit comes after the main sitting, so the closed session still takes it.
    response = await enter_scores(api, auth, sat, "E1", theory=72)
    assert response.status_code == 200, response.text
    assert response.json()["stage"] == "public_notice"
    await certificate_issued(events, sat)


async def test_a_score_correction_needs_a_reason_and_names_who_made_it(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    session_id = await new_session(api, auth)
    application_id = await registered(api, auth, session_id, "孙三")
    await examined(api, auth, session_id, application_id, theory=55, practical=80)
    correction = {"component": "theory", "score": 65, "correction_id": "c-1"}
    response = await api.post(
        f"/applications/{application_id}/score-corrections",
        headers=auth(Role.CENTRE),
        json=correction,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "reason"

    response = await api.post(
        f"/applications/{application_id}/score-corrections",
        headers=auth(Role.CENTRE),
        json={**correction, "reason": "page 4 was not marked"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["stage"] == "public_notice"
    again = await api.post(
        f"/applications/{application_id}/score-corrections",
        headers=auth(Role.CENTRE),
        json={**correction, "score": 70, "reason": "again"},
    )
    assert again.json()["errors"][0]["rule"] == Rule.SCORE_CORRECTION_DUPLICATE

    application = (
        await api.get(f"/applications/{application_id}", headers=auth(Role.CENTRE))
    ).json()
    [audit] = application["score_audit"]
    assert (audit["previous_score"], audit["new_score"]) == (55, 65)
    assert (audit["reason"], audit["corrected_by"]) == ("page 4 was not marked", CENTRE_STAFF)
    corrected = await event_about(events, payloads.ScoreCorrected, application_id=application_id)
    # The audit trail above keeps the reason; the event, read by other services, does not.
    assert corrected.payload["reason"] == ""
    assert corrected.payload["corrected_by"] == CENTRE_STAFF


async def test_a_rejected_body_files_again_under_a_new_id(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    filing = body_filing()
    body_id = filing["body_id"]
    assert (await file_body(api, auth, filing)).status_code == 202
    rejection = {"approve": False, "reason": "no examiners on file"}
    response = await decide_filing(api, auth, body_id, rejection)
    assert response.json()["status"] == "rejected", response.text

    wider = {**filing, "scope": [{"occupation_code": FITTER, "level": 4}]}
    response = await file_body(api, auth, wider)

    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == Rule.BODY_ALREADY_FILED
    body = (await api.get(f"/bodies/{body_id}", headers=auth(Role.REGULATOR))).json()
    assert (body["status"], body["scope"]) == ("rejected", [f"{FITTER}:5"])


async def test_approvals_end_when_the_exam_starts(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    session_id = await new_session(api, auth)
    ids = [await registered(api, auth, session_id, name) for name in ("周一", "吴二")]
    on_time, late = ids
    await api.post(
        f"/applications/{on_time}/review", headers=auth(Role.CENTRE), json={"approve": True}
    )
    await api.post(f"/sessions/{session_id}/start", headers=auth(Role.CENTRE))

    # Staffing was checked for the roster at the start: a later approval is refused.
    response = await api.post(
        f"/applications/{late}/review", headers=auth(Role.CENTRE), json={"approve": True}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == Rule.REVIEW_SESSION_STARTED
    response = await api.post(
        f"/sessions/{session_id}/reviews", headers=auth(Role.CENTRE), json={"approve": True}
    )
    # In bulk, each application's review is refused on its own.
    assert [
        (r["application_id"], r["status"], r["errors"][0]["rule"]) for r in response.json()
    ] == [(late, "refused", Rule.REVIEW_SESSION_STARTED)]
    late_status = (await api.get(f"/applications/{late}", headers=auth(Role.CENTRE))).json()
    assert late_status["stage"] == "awaiting_review"
    # Rejecting stays possible.
    await reject(api, auth, late, "missed the exam")


async def test_a_token_scoped_to_a_body_acts_for_that_body_only(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    mine = await approved_body(api, auth)
    other = await approved_body(api, auth)
    other_session = await open_session(api, auth, other)
    other_application = (
        await api.post(
            f"/sessions/{other_session}/applications",
            headers=auth(Role.CENTRE),
            json={"id_number": new_id_number(), "name": "郑四", "years_in_occupation": 2},
        )
    ).json()["application_id"]
    token = secrets.token_urlsafe(16)
    settings = stack.settings.model_copy(
        update={
            "api_tokens": {
                **stack.settings.api_tokens,
                token: TokenHolder(role=Role.CENTRE, name="li.ming", bodies=(mine,)),
            }
        }
    )
    app = create_app(settings)
    scoped = {"Authorization": f"Bearer {token}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        refused = [
            await client.post("/sessions", headers=scoped, json=session_request(other)),
            await client.post(
                f"/sessions/{other_session}/applications",
                headers=scoped,
                json={"id_number": new_id_number(), "name": "王五", "years_in_occupation": 2},
            ),
            await client.post(
                f"/applications/{other_application}/review",
                headers=scoped,
                json={"approve": True},
            ),
            await client.post(f"/sessions/{other_session}/start", headers=scoped),
        ]
        assert [r.status_code for r in refused] == [403] * 4, [r.text for r in refused]
        assert all(mine in r.json()["errors"][0]["message"] for r in refused)
        application = (
            await api.get(f"/applications/{other_application}", headers=auth(Role.CENTRE))
        ).json()
        assert application["stage"] == "awaiting_review"

        own = await client.post("/sessions", headers=scoped, json=session_request(mine))
        assert own.status_code == 201, own.text
