"""Certificates from before SkillFlow, through the HTTP API on the real stack: imported by
the records officer (JSON and CSV, row by row), then counted in eligibility (the 4-year
boundary), the lower-level subsidy rule, title equivalence, the archive and verification,
and never a subsidy claim of their own."""

from __future__ import annotations

import secrets
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from policy.idnumber import person_key
from schemas import payloads
from schemas.archive import TitleEquivalenceRequest
from schemas.topics import Topic
from skillflow.settings import Role
from tests.integration.steps import (
    FITTER,
    Auth,
    admitted,
    approved_body,
    eventually,
    examined,
    insured,
    new_id_number,
    open_session,
    today,
)
from workflows.title_equivalence import TitleEquivalenceWorkflow

pytestmark = pytest.mark.integration

NATIONAL_QUERY = "全国联网查询"


def years_ago(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February
        return date(on.year - years, 2, 28)


def older_number() -> str:
    """A vocational-qualification certificate number in an older form (not 22 characters)."""
    return f"0{secrets.randbelow(10**15):015d}-LN"


def national_number(level: int, issued_on: date) -> str:
    serial = secrets.randbelow(10**6 - 1) + 1
    return f"S000032{secrets.randbelow(10**6):06d}{issued_on.year % 100:02d}{level}{serial:06d}"


def prior(id_number: str, number: str, level: int, issued_on: date, **extra: Any) -> dict[str, Any]:
    return {
        "certificate_number": number,
        "id_number": id_number,
        "holder_name": "赵建国",
        "occupation_code": FITTER,
        "level": level,
        "issuing_body": "江苏省职业技能鉴定中心",
        "issued_on": str(issued_on),
        "checked_against": NATIONAL_QUERY,
        "checked_on": str(today()),
        **extra,
    }


async def import_prior(
    api: httpx.AsyncClient, auth: Auth, *certificates: dict[str, Any]
) -> list[dict[str, Any]]:
    response = await api.post(
        "/records/prior-certificates",
        headers=auth(Role.RECORDS_OFFICER),
        json={"certificates": list(certificates)},
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


async def register(
    api: httpx.AsyncClient, auth: Auth, session_id: str, id_number: str, years: float = 2
) -> httpx.Response:
    return await api.post(
        f"/sessions/{session_id}/applications",
        headers=auth(Role.CENTRE),
        json={"id_number": id_number, "name": "赵建国", "years_in_occupation": years},
    )


def key_of(stack: Any, id_number: str) -> str:
    return person_key(id_number, stack.settings.person_key_secret_bytes)


async def test_import_is_idempotent_refuses_a_differing_number_and_reports_csv_rows(
    stack: Any, api: httpx.AsyncClient, auth: Auth
) -> None:
    id_number = new_id_number()
    number = older_number()
    issued_on = today() - timedelta(days=2000)
    first = prior(id_number, f"  {number} ", 3, issued_on)
    [imported] = await import_prior(api, auth, first)
    assert imported["status"] == "imported", imported
    # Kept as written (surrounding blanks aside): the older form is not rewritten.
    assert imported["certificate_number"] == number
    assert imported["person_key"] == key_of(stack, id_number)

    [again] = await import_prior(api, auth, first)
    assert again["status"] == "unchanged"
    [differs] = await import_prior(api, auth, prior(id_number, number, 2, issued_on))
    assert differs["status"] == "rejected"
    assert [(e["field"], e["rule"]) for e in differs["errors"]] == [
        ("certificate_number", "import.number_conflict")
    ]
    stored = await stack.pool.fetch(
        "SELECT level FROM certification.prior_certificates WHERE certificate_number = $1", number
    )
    assert [r["level"] for r in stored] == [3]
    events = await stack.pool.fetchval(
        """SELECT count(*) FROM outbox.events
           WHERE envelope->>'event_type' = 'certificate.imported'
             AND envelope->'payload'->>'certificate_number' = $1""",
        number,
    )
    assert events == 1, "the unchanged and the refused import publish nothing"

    good = prior(new_id_number(), national_number(5, issued_on), 5, issued_on)
    bad_id = prior("210102199001011234", older_number(), 5, issued_on)
    bad_number = prior(new_id_number(), "12-34", 5, issued_on)
    future = prior(new_id_number(), older_number(), 5, today() + timedelta(days=3))
    columns = list(good)
    lines = [",".join(columns)] + [
        ",".join(str(row[c]) for c in columns) for row in (good, bad_id, bad_number, future)
    ]
    response = await api.post(
        "/records/prior-certificates.csv",
        headers={**auth(Role.RECORDS_OFFICER), "Content-Type": "text/csv"},
        content="\n".join(lines).encode(),
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert [(r["row"], r["status"]) for r in report] == [
        (1, "imported"),
        (2, "rejected"),
        (3, "rejected"),
        (4, "rejected"),
    ]
    assert [e["rule"] for e in report[1]["errors"]] == ["id_number.check_character"]
    assert [e["rule"] for e in report[2]["errors"]] == ["certificate_number.prior_format"]
    assert [e["rule"] for e in report[3]["errors"]] == ["import.future_date"]
    assert bad_id["id_number"] not in response.text, "an ID number is never echoed"
    assert not await stack.pool.fetchval(
        "SELECT count(*) FROM certification.prior_certificates WHERE certificate_number = ANY($1)",
        [bad_id["certificate_number"], future["certificate_number"]],
    )

    # Only the records officer imports.
    response = await api.post(
        "/records/prior-certificates",
        headers=auth(Role.CENTRE),
        json={"certificates": [prior(new_id_number(), older_number(), 5, issued_on)]},
    )
    assert response.status_code == 403


async def test_imported_level5_counts_for_level4_eligibility_from_its_real_issue_date(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    body_id = await approved_body(api, auth, levels=[5, 4])
    level4 = await open_session(api, auth, body_id, level=4)
    on = today()
    # Two years in the occupation, no diploma: level 4 only through 4 years since a level 5.
    short, exact, without = new_id_number(), new_id_number(), new_id_number()
    one_day_short = years_ago(on, 4) + timedelta(days=1)
    rows = await import_prior(
        api,
        auth,
        prior(short, older_number(), 5, one_day_short),
        prior(exact, national_number(5, years_ago(on, 4)), 5, years_ago(on, 4)),
    )
    assert [r["status"] for r in rows] == ["imported", "imported"]

    response = await register(api, auth, level4, without)
    assert response.status_code == 422
    assert "(has none)" in response.json()["errors"][0]["message"]

    # 3 years 364 days: refused, and nothing written.
    response = await register(api, auth, level4, short)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["rule"]) == ("level", "eligibility.no_path")
    assert "(has 3.9)" in error["message"]
    assert not await stack.pool.fetchval(
        "SELECT count(*) FROM certification.applications WHERE session_id = $1 AND person_key = $2",
        level4,
        key_of(stack, short),
    )

    # Exactly 4 years: admitted through the years-since-level-5 path.
    admission = await admitted(api, auth, await register(api, auth, level4, exact))
    assert (admission["level"], admission["eligibility_path"]) == (4, "L4.years_since_L5")


async def test_archive_verification_and_no_claim_for_an_imported_certificate(
    stack: Any, consumers: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    id_number = new_id_number()
    key = key_of(stack, id_number)
    recent, old = older_number(), older_number()
    # One within a 12-month claim window, one 13 months old: neither earns a claim.
    await import_prior(
        api,
        auth,
        prior(id_number, recent, 4, today() - timedelta(days=30)),
        prior(id_number, old, 3, today() - timedelta(days=396)),
    )

    async def archived() -> Any:
        response = await api.get(f"/records/archives/{key}", headers=auth(Role.RECORDS_OFFICER))
        if response.status_code != 200 or len(response.json()["certificates"]) < 2:
            return None
        return response.json()

    archive = await eventually(archived)
    by_number = {c["certificate_number"]: c for c in archive["certificates"]}
    assert by_number[recent]["source"] == "imported"
    assert by_number[recent]["provenance"]["checked_against"] == NATIONAL_QUERY
    assert by_number[recent]["provenance"]["issuing_body"] == "江苏省职业技能鉴定中心"
    assert by_number[old]["issued_on"] == str(today() - timedelta(days=396))
    entries = [e for e in archive["timeline"] if e["entry_kind"] == "certificate_imported"]
    assert sorted(e["certificate_number"] for e in entries) == sorted([recent, old])
    assert all(e["details"]["checked_against"] == NATIONAL_QUERY for e in entries)

    public = (await api.get(f"/certificates/{old}")).json()
    assert (public["status"], public["imported"], public["level"]) == ("valid", True, 3)
    # Where it was checked is a detail for whoever also knows the holder's name.
    assert "checked_against" not in public
    detailed = await api.post(f"/certificates/{old}/verification", json={"holder_name": "赵建国"})
    assert detailed.json()["holder_name_matches"] is True, detailed.text
    assert detailed.json()["checked_against"] == NATIONAL_QUERY
    wrong = await api.post(f"/certificates/{old}/verification", json={"holder_name": "钱建国"})
    assert wrong.json()["holder_name_matches"] is False and wrong.json()["checked_against"] is None
    register_row = (await api.get(f"/records/certificates/{recent}")).json()
    assert (register_row["imported"], register_row["level"]) == (True, 4)
    unknown = await api.get("/certificates/0999999999999999-XX")
    assert unknown.status_code == 422, "an unknown older-form number is not a national number"

    # The incentive service has both, with their real issue dates, and no claim on either.
    async def seen() -> bool:
        count = await stack.pool.fetchval(
            """SELECT count(*) FROM incentives.certificates
               WHERE person_key = $1 AND route = 'imported'""",
            key,
        )
        return bool(count == 2)

    await eventually(seen)
    claims = (await api.get(f"/incentives/people/{key}", headers=auth(Role.RECORDS_OFFICER))).json()
    assert claims["claims"] == []


async def test_imported_higher_level_refuses_the_subsidy_for_a_lower_one(
    stack: Any, worker: None, consumers: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    id_number = new_id_number()
    key = key_of(stack, id_number)
    await import_prior(
        api, auth, prior(id_number, older_number(), 3, today() - timedelta(days=900))
    )
    assert (await insured(api, auth, id_number, today() - timedelta(days=1))).status_code == 200

    body_id = await approved_body(api, auth, levels=[5])
    level5 = await open_session(api, auth, body_id, level=5)
    response = await register(api, auth, level5, id_number)
    assert response.status_code == 201, response.text
    application_id = response.json()["application_id"]
    await examined(api, auth, level5, application_id, theory=80, practical=80)
    await events.wait_for(
        Topic.INCENTIVE.value,
        lambda e: e.event_type == payloads.SubsidyRefused.event_type and e.person_key == key,
        timeout=60,
    )
    claims = (await api.get(f"/incentives/people/{key}", headers=auth(Role.RECORDS_OFFICER))).json()
    [claim] = [c for c in claims["claims"] if c["kind"] == "skill_upgrade"]
    assert (claim["status"], claim["rule"]) == ("refused", "subsidy.lower_after_higher")
    assert "imported" in claim["reason"]


async def test_imported_certificate_counts_for_title_equivalence(
    stack: Any, worker: None, consumers: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    on = today()
    due, early = new_id_number(), new_id_number()
    await import_prior(
        api,
        auth,
        prior(due, older_number(), 3, years_ago(on, 2)),
        prior(early, older_number(), 3, years_ago(on, 2) + timedelta(days=1)),
    )
    keys = [key_of(stack, due), key_of(stack, early)]

    async def filed() -> bool:
        count = await stack.pool.fetchval(
            "SELECT count(*) FROM records.certificates WHERE person_key = ANY($1)", keys
        )
        return bool(count == 2)

    await eventually(filed)

    await stack.temporal.execute_workflow(
        TitleEquivalenceWorkflow.run,
        TitleEquivalenceRequest(as_of=on, batch_size=50),
        id=f"title-equivalence-prior-{uuid.uuid4().hex[:8]}",
        task_queue=stack.settings.task_queue,
    )
    titles = await stack.pool.fetch(
        "SELECT person_key, title FROM records.title_eligibilities WHERE person_key = ANY($1)", keys
    )
    assert [(r["person_key"], r["title"]) for r in titles] == [(keys[0], "assistant_engineer")]
