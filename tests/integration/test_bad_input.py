"""Bad input of every class found on the running stack is a named 4xx, and changes nothing.

Each class is sent through the real API (Temporal with the worker, PostgreSQL): numbers
that are not finite or are booleans, integers past 64 bits, CSV rows the CSV rules cannot
read on all four CSV routes, reasons of only spaces on every reason field, a training
subsidy for a certificate never issued, and a date-time that is a bare number.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from policy.idnumber import person_key
from policy.rule_ids import Rule
from schemas.workflow_ids import body_workflow_id, session_workflow_id
from skillflow.settings import Role
from tests.integration.steps import (
    Auth,
    approve_all_and_start,
    approved_body,
    body_filing,
    decide_filing,
    enter_scores,
    eventually,
    file_body,
    import_rows,
    new_id_number,
    open_session,
    registered,
    session_request,
    today,
    workflow_exists,
)

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}
CSV = {"Content-Type": "text/csv"}
# Raw JSON numbers Python's json reads (NaN, inf) or turns into inf (1e400), and a boolean.
NOT_FINITE = {"NaN": "finite_number", "Infinity": "finite_number", "-Infinity": "finite_number"}
NOT_FINITE |= {"1e400": "finite_number", "true": "float_type", '"80"': "float_type"}
OUT_OF_RANGE = str(2**63)


@dataclass
class Sitting:
    """A running session with three approved candidates; the first has a theory score."""

    body_id: str
    session_id: str
    application_ids: list[str]


@pytest.fixture(scope="module")
async def sitting(stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth) -> Sitting:
    body_id = await approved_body(api, auth)
    session_id = await open_session(api, auth, body_id)
    ids = [
        await registered(api, auth, session_id, name, years_in_occupation=8)
        for name in ("甲一", "乙二", "丙三")
    ]
    reviewed = await approve_all_and_start(api, auth, session_id)
    assert reviewed == ["approved"] * 3
    scored = await enter_scores(api, auth, ids[0], "E1", theory=75)
    assert scored.status_code == 200, scored.text
    return Sitting(body_id, session_id, ids)


async def application(api: httpx.AsyncClient, auth: Auth, application_id: str) -> Any:
    answer = await api.get(f"/applications/{application_id}", headers=auth(Role.CENTRE))
    assert answer.status_code == 200, answer.text
    return answer.json()


def refusal(answer: httpx.Response) -> tuple[int, list[tuple[str, str]]]:
    errors = answer.json().get("errors", [])
    return answer.status_code, [(e["field"], e["rule"]) for e in errors]


async def refuses_each_not_finite(
    api: httpx.AsyncClient, auth: Auth, path: str, body: Callable[[str], str], field: str
) -> None:
    """The centre posts ``body(raw)`` for each raw JSON number of NOT_FINITE: each is a 422
    naming ``field`` and the rule of its kind."""
    for raw, rule in NOT_FINITE.items():
        answer = await api.post(path, headers=auth(Role.CENTRE) | JSON, content=body(raw))
        assert refusal(answer) == (422, [(field, f"request.{rule}")]), (raw, answer.text)


# --- numbers -------------------------------------------------------------------------------


async def test_a_score_that_is_not_a_finite_number_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, auth: Auth, sitting: Sitting
) -> None:
    target = sitting.application_ids[1]
    before = await application(api, auth, target)
    await refuses_each_not_finite(
        api,
        auth,
        f"/applications/{target}/scores",
        lambda raw: f'{{"examiner_id": "E1", "scores": {{"theory": {raw}}}}}',
        "scores.theory",
    )
    after = await application(api, auth, target)
    assert (
        (after["stage"], after["scores"])
        == (before["stage"], before["scores"])
        == (
            "assessment",
            {},
        )
    )


async def test_a_correction_that_is_not_a_finite_number_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, auth: Auth, sitting: Sitting
) -> None:
    target = sitting.application_ids[0]
    await refuses_each_not_finite(
        api,
        auth,
        f"/applications/{target}/score-corrections",
        lambda raw: f'{{"component": "theory", "score": {raw}, "reason": "recount"}}',
        "score",
    )
    after = await application(api, auth, target)
    assert after["scores"] == {"theory": 75.0} and after["score_audit"] == []


async def test_a_score_cell_that_is_not_a_finite_number_is_a_rejected_row(
    api: httpx.AsyncClient, auth: Auth, sitting: Sitting
) -> None:
    target = sitting.application_ids[2]
    rows = [f"{target},E1,{cell}" for cell in ("nan", "inf", "1e400", "true", "１２")]
    answer = await import_rows(
        api,
        f"/sessions/{sitting.session_id}/scores.csv",
        headers=auth(Role.CENTRE),
        content=("application_id,examiner_id,theory\n" + "\n".join(rows)).encode(),
    )
    assert [(r["status"], r["errors"][0]["rule"]) for r in answer] == [
        ("rejected", Rule.SCORE_NOT_A_NUMBER),
        ("rejected", Rule.SCORE_NOT_A_NUMBER),
        ("rejected", "request.finite_number"),
        ("rejected", Rule.SCORE_NOT_A_NUMBER),
        ("rejected", Rule.SCORE_NOT_A_NUMBER),
    ]
    assert (await application(api, auth, target))["scores"] == {}


async def test_a_registration_number_that_is_not_finite_is_refused(
    stack: Any, api: httpx.AsyncClient, auth: Auth, sitting: Sitting
) -> None:
    session = await open_session(api, auth, sitting.body_id)
    await refuses_each_not_finite(
        api,
        auth,
        f"/sessions/{session}/applications",
        lambda raw: (
            f'{{"id_number": "{new_id_number()}", "name": "丁四", "years_in_occupation": {raw}}}'
        ),
        "years_in_occupation",
    )
    count = await stack.pool.fetchval(
        "SELECT count(*) FROM certification.applications WHERE session_id = $1", session
    )
    assert count == 0


@pytest.mark.parametrize(
    ("role", "path", "params", "field", "rule"),
    [
        (Role.CENTRE, "/sessions/{session}/applications", {"offset": OUT_OF_RANGE}, "offset", "less_than_equal"),
        (Role.CENTRE, "/sessions/{session}/applications", {"limit": OUT_OF_RANGE}, "limit", "less_than_equal"),
        (Role.CENTRE, "/sessions/{session}/applications", {"offset": "-1"}, "offset", "greater_than_equal"),
        (Role.REGULATOR, "/records/bodies/statistics", {"min_volume": OUT_OF_RANGE}, "min_volume", "less_than_equal"),
        (Role.REGULATOR, "/incentives/claims", {"limit": OUT_OF_RANGE}, "limit", "less_than_equal"),
        (Role.REGULATOR, "/incentives/claims", {"decided_since": "0.5"}, "decided_since", "datetime_iso"),
        (Role.REGULATOR, "/incentives/claims", {"decided_since": "1700000000"}, "decided_since", "datetime_iso"),
        (Role.OPERATOR, "/operations/dead-letters", {"limit": OUT_OF_RANGE}, "limit", "less_than_equal"),
    ],
)  # fmt: skip
async def test_a_query_number_out_of_range_or_a_bare_number_time_is_refused(
    api: httpx.AsyncClient,
    auth: Auth,
    sitting: Sitting,
    role: Role,
    path: str,
    params: dict[str, str],
    field: str,
    rule: str,
) -> None:
    answer = await api.get(
        path.format(session=sitting.session_id), params=params, headers=auth(role)
    )
    assert refusal(answer) == (422, [(f"query.{field}", f"request.{rule}")]), answer.text


async def test_a_dead_letter_id_past_64_bits_is_refused(api: httpx.AsyncClient, auth: Auth) -> None:
    for action in ("replay", "discard"):
        answer = await api.post(
            f"/operations/dead-letters/{OUT_OF_RANGE}/{action}",
            headers=auth(Role.OPERATOR),
            json={"reason": "the consumer bug is fixed"},
        )
        assert refusal(answer) == (422, [("path.dead_letter_id", "request.less_than_equal")])


async def test_insured_months_and_subsidy_amounts_are_strict_whole_numbers(
    stack: Any, api: httpx.AsyncClient, auth: Auth
) -> None:
    id_number = new_id_number()
    answer = await api.post(
        "/incentives/insurance-records",
        headers=auth(Role.RECORDS_OFFICER),
        json={"records": [{"id_number": id_number, "insured_months": True, "as_of": "2025-01-31"}]},
    )
    assert refusal(answer) == (422, [("records.0.insured_months", "request.int_type")])
    key = person_key(id_number, stack.settings.person_key_secret_bytes)
    assert not await stack.pool.fetchval(
        "SELECT count(*) FROM incentives.insurance_records WHERE person_key = $1", key
    )


# --- CSV on all four routes ------------------------------------------------------------------


async def test_registration_csv_rows_the_csv_rules_cannot_read_are_rejected_alone(
    stack: Any, api: httpx.AsyncClient, auth: Auth, sitting: Sitting
) -> None:
    session = await open_session(api, auth, sitting.body_id)
    good = new_id_number()
    body = (
        b"id_number,name,years_in_occupation\n"
        + f"{new_id_number()},戊五\r,8\n".encode()
        + f"{good},己六,8\n".encode()
        + f'{new_id_number()},"庚"七,8\n'.encode()
        + f"{new_id_number()},辛\x00八,8\n".encode()
        + new_id_number().encode()
        + ",\xc8\xc9,8\n".encode("latin-1")
    )
    answer = await import_rows(
        api, f"/sessions/{session}/applications.csv", headers=auth(Role.CENTRE), content=body
    )
    assert [(r["row"], r["status"], r["errors"][0]["rule"] if r["errors"] else None) for r in answer] == [
        (1, "rejected", Rule.CSV_BARE_CARRIAGE_RETURN),
        (2, "accepted", None),
        (3, "rejected", Rule.CSV_BROKEN_QUOTE),
        (4, "rejected", Rule.CSV_NUL),
        (5, "rejected", Rule.CSV_ENCODING),
    ]  # fmt: skip
    keys = await stack.pool.fetch(
        "SELECT person_key FROM certification.applications WHERE session_id = $1", session
    )
    assert [r["person_key"] for r in keys] == [
        person_key(good, stack.settings.person_key_secret_bytes)
    ]


async def test_score_csv_rows_the_csv_rules_cannot_read_are_rejected_alone(
    api: httpx.AsyncClient, auth: Auth, sitting: Sitting
) -> None:
    target = sitting.application_ids[2]
    body = f'application_id,examiner_id,theory\n{target},E1,7\r0\n{target},E1,"8"0\n'.encode()
    answer = await import_rows(
        api, f"/sessions/{sitting.session_id}/scores.csv", headers=auth(Role.CENTRE), content=body
    )
    assert [(r["status"], r["errors"][0]["rule"]) for r in answer] == [
        ("rejected", Rule.CSV_BARE_CARRIAGE_RETURN),
        ("rejected", Rule.CSV_BROKEN_QUOTE),
    ]
    assert (await application(api, auth, target))["scores"] == {}


async def test_insurance_csv_rows_the_csv_rules_cannot_read_are_rejected_alone(
    stack: Any, api: httpx.AsyncClient, auth: Auth
) -> None:
    people = [new_id_number() for _ in range(3)]
    body = (
        f"id_number,insured_months,as_of\n{people[0]},2\r4,2025-01-31\n"
        f"{people[1]},24,2025-01-31\n{people[2]},\x0024,2025-01-31\n"
    ).encode()
    answer = await api.post(
        "/incentives/insurance-records/import",
        headers=auth(Role.RECORDS_OFFICER) | CSV,
        content=body,
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert [(r["status"], [e["rule"] for e in r["errors"]]) for r in report["rows"]] == [
        ("rejected", [Rule.CSV_BARE_CARRIAGE_RETURN]),
        ("applied", []),
        ("rejected", [Rule.CSV_NUL]),
    ]
    for id_number in people:
        assert id_number not in answer.text
    secret = stack.settings.person_key_secret_bytes
    rows = await stack.pool.fetch(
        "SELECT person_key FROM incentives.insurance_records WHERE person_key = ANY($1)",
        [person_key(n, secret) for n in people],
    )
    assert [r["person_key"] for r in rows] == [person_key(people[1], secret)]


async def test_training_subsidy_csv_rows_the_csv_rules_cannot_read_are_rejected_alone(
    stack: Any, api: httpx.AsyncClient, auth: Auth
) -> None:
    number = f"S000121000000{today().year % 100:02d}4{secrets.randbelow(10**6):06d}"
    body = f"certificate_number,amount_fen,granted_on\n{number},800\r00,2025-01-01\n".encode()
    answer = await api.post(
        "/incentives/training-subsidies/import",
        headers=auth(Role.RECORDS_OFFICER) | CSV,
        content=body,
    )
    assert answer.status_code == 200, answer.text
    assert [(r["status"], r["errors"][0]["rule"]) for r in answer.json()["rows"]] == [
        ("rejected", Rule.CSV_BARE_CARRIAGE_RETURN)
    ]
    assert not await stack.pool.fetchval(
        "SELECT count(*) FROM incentives.training_subsidies WHERE certificate_number = $1", number
    )


async def test_a_training_subsidy_for_a_certificate_never_issued_is_a_rejected_row(
    stack: Any, api: httpx.AsyncClient, auth: Auth
) -> None:
    number = f"S000121000000{today().year % 100:02d}4{secrets.randbelow(10**6):06d}"
    record = {"certificate_number": number, "amount_fen": 80000, "granted_on": "2025-01-01"}
    by_json = await api.post(
        "/incentives/training-subsidies",
        headers=auth(Role.RECORDS_OFFICER),
        json={"records": [record]},
    )
    by_csv = await api.post(
        "/incentives/training-subsidies/import",
        headers=auth(Role.RECORDS_OFFICER) | CSV,
        content=f"certificate_number,amount_fen,granted_on\n{number},80000,2025-01-01\n".encode(),
    )
    for answer in (by_json, by_csv):
        assert answer.status_code == 200, answer.text
        [row] = answer.json()["rows"]
        assert (row["status"], row["errors"]) == (
            "rejected",
            [
                {
                    "field": "certificate_number",
                    "rule": Rule.TRAINING_SUBSIDY_UNKNOWN_CERTIFICATE,
                    "message": "no certificate with this number has been issued",
                }
            ],
        )
    assert not await stack.pool.fetchval(
        "SELECT count(*) FROM incentives.training_subsidies WHERE certificate_number = $1", number
    )


# --- reasons -------------------------------------------------------------------------------

BLANK = "  \u3000 "


async def test_a_reason_of_only_spaces_is_refused_on_every_application_route(
    api: httpx.AsyncClient, auth: Auth, sitting: Sitting
) -> None:
    target = sitting.application_ids[0]
    before = await application(api, auth, target)
    calls = [
        (Role.CENTRE, "score-corrections", {"component": "theory", "score": 80, "reason": BLANK}, "reason"),
        (Role.CENTRE, "objections", {"reason": BLANK}, "reason"),
        (Role.REGULATOR, "objections/o-1/resolution", {"upheld": True, "resolution": BLANK}, "resolution"),
    ]  # fmt: skip
    for role, path, body, field in calls:
        answer = await api.post(f"/applications/{target}/{path}", headers=auth(role), json=body)
        assert refusal(answer) == (422, [(field, "request.string_too_short")]), path
    after = await application(api, auth, target)
    assert (after["stage"], after["scores"], after["score_audit"]) == (
        before["stage"],
        before["scores"],
        [],
    )


async def test_a_rejection_whose_reason_is_only_spaces_is_refused(
    api: httpx.AsyncClient, auth: Auth, sitting: Sitting
) -> None:
    session = await open_session(api, auth, sitting.body_id)
    target = await registered(api, auth, session, "壬九", years_in_occupation=8)
    one = await api.post(
        f"/applications/{target}/review",
        headers=auth(Role.CENTRE),
        json={"approve": False, "reason": BLANK},
    )
    assert refusal(one) == (422, [("reason", Rule.REVIEW_REASON_REQUIRED)])
    bulk = await api.post(
        f"/sessions/{session}/reviews",
        headers=auth(Role.CENTRE),
        json={"approve": False, "reason": BLANK},
    )
    assert [(r["status"], r["errors"][0]["rule"]) for r in bulk.json()] == [
        ("refused", Rule.REVIEW_REASON_REQUIRED)
    ]
    assert (await application(api, auth, target))["stage"] == "awaiting_review"


async def test_a_reason_of_only_spaces_is_refused_on_bodies_certificates_and_claims(
    api: httpx.AsyncClient, auth: Auth, sitting: Sitting
) -> None:
    regulator = auth(Role.REGULATOR)
    calls = [
        (f"/bodies/{sitting.body_id}/status", {"action": "suspend", "reason": BLANK}, "reason"),
        (
            f"/bodies/{sitting.body_id}/quality-reviews",
            {"certificate_number": "S" + "0" * 21, "passed": False, "finding": BLANK},
            "finding",
        ),
        (f"/certificates/S{'0' * 21}/revocation", {"reason": BLANK}, "reason"),
        ("/incentives/claims/c-1/release", {"reason": BLANK}, "reason"),
        ("/incentives/claims/c-1/reject", {"reason": BLANK}, "reason"),
        ("/incentives/claims/c-1/reconsideration", {"reason": " ab "}, "reason"),
    ]
    for path, body, field in calls:
        answer = await api.post(path, headers=regulator, json=body)
        assert refusal(answer) == (422, [(field, "request.string_too_short")]), path
    shown_body = await api.get(f"/bodies/{sitting.body_id}", headers=regulator)
    body = shown_body.json()
    assert shown_body.status_code == 200, shown_body.text
    assert body["status"] == "active"
    # A body's rejection needs a reason too (the workflow's rule), on a fresh filing.
    filed = await file_body(api, auth, body_filing(name="待审中心", site_serial="000002"))
    assert filed.status_code == 202, filed.text
    new_body = filed.json()["body_id"]
    decided = await decide_filing(
        api,
        auth,
        new_body,
        {"approve": False, "reason": BLANK},
        settled=lambda answer: answer.status_code != 404,
    )
    assert refusal(decided) == (422, [("reason", Rule.BODY_REJECTION_REASON)])

    async def recorded() -> Any:
        # The filing's row is written by the workflow's first activity.
        shown = await api.get(f"/bodies/{new_body}", headers=regulator)
        return shown.json() if shown.status_code == 200 else None

    assert (await eventually(recorded))["status"] == "submitted"


async def test_a_boolean_is_no_whole_number_when_opening_a_session_or_filing_a_body(
    stack: Any, api: httpx.AsyncClient, auth: Auth, sitting: Sitting
) -> None:
    for field in ("level", "capacity", "theory_rooms", "proctors"):
        request = session_request(sitting.body_id, **{field: True})
        answer = await api.post("/sessions", headers=auth(Role.CENTRE), json=request)
        assert refusal(answer) == (422, [(field, "request.int_type")]), answer.text
        assert not await workflow_exists(stack, session_workflow_id(request["session_id"]))
    filing = body_filing(name="布尔中心", site_serial="000003", levels=[True])
    body_id = filing["body_id"]
    filed = await file_body(api, auth, filing)
    assert refusal(filed) == (422, [("scope.0.level", "request.int_type")]), filed.text
    assert not await workflow_exists(stack, body_workflow_id(body_id))


async def test_prior_certificate_csv_rows_the_csv_rules_cannot_read_are_rejected_alone(
    stack: Any, api: httpx.AsyncClient, auth: Auth
) -> None:
    header = (
        "certificate_number,id_number,occupation_code,level,issuing_body,issued_on,"
        "checked_against,checked_on\n"
    )
    people = [new_id_number(), new_id_number()]
    rows = [
        f"S000032000001{today().year % 100 - 2:02d}4{secrets.randbelow(10**6):06d},{people[0]},"
        f"6-20-01-01,4,江苏省职业技能鉴定中心\r,2023-05-01,全国联网查询,{today()}",
        f"S000032000001{today().year % 100 - 2:02d}4{secrets.randbelow(10**6):06d},{people[1]},"
        f"6-20-01-01,true,江苏省职业技能鉴定中心,2023-05-01,全国联网查询,{today()}",
    ]
    answer = await api.post(
        "/records/prior-certificates.csv",
        headers=auth(Role.RECORDS_OFFICER) | CSV,
        content=(header + "\n".join(rows) + "\n").encode(),
    )
    assert answer.status_code == 200, answer.text
    assert [(r["status"], r["errors"][0]["rule"]) for r in answer.json()] == [
        ("rejected", Rule.CSV_BARE_CARRIAGE_RETURN),
        ("rejected", "request.int_type"),
    ]
    secret = stack.settings.person_key_secret_bytes
    assert not await stack.pool.fetchval(
        "SELECT count(*) FROM certification.prior_certificates WHERE person_key = ANY($1)",
        [person_key(n, secret) for n in people],
    )
