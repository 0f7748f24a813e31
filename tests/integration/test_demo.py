"""The demo a new user runs, against the real stack: it must finish and say what happened;
then nothing it sent in personal (ID numbers, names, free text) may be found in clear in
Temporal, Kafka, the logs or the database."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import httpx
import pytest
from rich.console import Console

from schemas import payloads
from skillflow.demo import DemoPersonalData, run_demo
from tests.integration.conftest import RunningStack
from tests.integration.exposure import (
    Haystack,
    database_rows,
    kafka_messages,
    temporal_histories,
    where_found,
)
from tests.integration.steps import Auth, body_filing, decide_filing, file_body

pytestmark = pytest.mark.integration

SEALED_COLUMNS = {
    "certification.applications.holder_name_sealed",
    "certification.sessions.examiner_names_sealed",
}
# Free text is kept where the audit trail reads it, and nowhere else.
AUDIT_TABLES = {"certification.certificates", "certification.bodies"}


async def test_demo_runs_end_to_end_and_leaves_no_personal_data_in_clear(
    stack: RunningStack,
    worker: None,
    consumers: None,
    api: httpx.AsyncClient,
    auth: Auth,
    events: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    output = io.StringIO()
    tokens = {role.value: token for role, token in stack.tokens.items()}
    sent = DemoPersonalData()
    ok = await run_demo(
        {"api": "http://api", "tokens": tokens},
        12,
        http=api,
        console=Console(file=output, width=120),
        personal_data=sent,
    )
    text = output.getvalue()
    assert ok, text
    assert "(id_number.min_age)" in text and "(id_number.check_character)" in text
    assert "closes the session (closed)" in text, text
    assert re.search(r"certificates issued\s*│\s*\d+", text)
    assert re.search(r"revoked certificate now verifies as\s*│\s*revoked", text)
    clawback = re.search(r"subsidies clawed back\s*│\s*(\d+) of (\d+)\b", text)
    assert clawback and clawback[1] == clawback[2] and int(clawback[1]) >= 1, text
    assert re.search(r"credential verified offline\s*│\s*valid / valid", text), text
    assert re.search(r"revoked certificate's credential\s*│\s*valid / revoked", text), text
    assert "imported=True" in text, text
    # The competition act: the ladder ran, qualifiers advanced, the national podium and a
    # 优胜奖 are shown, and a promoted medallist holds a promotion certificate and a reward.
    assert re.search(r"competitions run \(city -> provincial -> national\)\s*│\s*3", text), text
    assert re.search(r"qualifiers advanced \(city, provincial\)\s*│\s*3, 2", text), text
    assert re.search(r"promotion certificate \(national medallist\)\s*│\s*S\d{21}", text), text
    reward = re.search(r"competition rewards in that archive \(yuan\)\s*│\s*([\d,.]+)", text)
    assert reward and float(reward[1].replace(",", "")) > 0, text
    assert "The national final" in text and "优胜奖 (merit)" in text, text
    for medal in ("gold", "silver", "bronze"):
        assert re.search(rf"│\s*{medal}\s*│", text), text

    sent.free_text.append(await _rejected_body(api, auth, events))
    await _scan(stack, sent, caplog)


async def _rejected_body(api: httpx.AsyncClient, auth: Auth, events: Any) -> str:
    """A regulator's rejection in words that name someone: a free-text reason to look for."""
    reason = "负责人周某某伪造考评员资格证书"
    body_id = "S-LEAK-1"
    filing = body_filing(
        body_id,
        name="沈阳市第九职业技能鉴定站",
        site_serial="000009",
        levels=[4],
        occupation_code="6-31-01-03",
    )
    response = await file_body(api, auth, filing)
    assert response.status_code == 202, response.text
    response = await decide_filing(api, auth, body_id, {"approve": False, "reason": reason})
    assert response.json()["status"] == "rejected", response.text
    await events.wait_for(
        "skills.evaluation-body",
        lambda e: (
            e.event_type == payloads.BodyRejected.event_type and e.payload["body_id"] == body_id
        ),
    )
    return reason


async def _scan(
    stack: RunningStack, sent: DemoPersonalData, caplog: pytest.LogCaptureFixture
) -> None:
    id_numbers = sent.id_numbers + [n.lower() for n in sent.id_numbers if n.endswith("X")]
    personal = [*id_numbers, *sent.names]
    # 12 candidates and 2 refused rows, then 14 competitors of the competition act.
    assert len(sent.id_numbers) == 14 + 14 and len(sent.names) >= 28 + 3
    assert len(sent.free_text) == 2

    histories = await temporal_histories(stack.temporal)
    kafka = await kafka_messages(stack.settings.kafka_bootstrap_servers)
    log_files = sorted((stack.data_dir / "logs").glob("*.log"))
    logs = Haystack(
        "logs",
        chunks=[caplog.text.encode()] + [path.read_bytes() for path in log_files],
        counts={"records": len(caplog.records), "server log files": len(log_files)},
    )
    database = await database_rows(stack.pool, SEALED_COLUMNS)
    for haystack in (histories, kafka, logs, database):
        figures = ", ".join(f"{n} {what}" for what, n in haystack.counts.items())
        print(f"scanned {haystack.place}: {figures}")

    assert histories.find(personal + sent.free_text) == {}
    assert kafka.find(personal + sent.free_text) == {}
    assert logs.find(personal + sent.free_text) == {}
    assert database.find(personal) == {}
    for reason in sent.free_text:
        assert where_found(database, reason) <= AUDIT_TABLES, reason
    # Not vacuous: the scenario's data is there, sealed, and the readers read it.
    assert histories.counts["encrypted"] >= 100
    assert histories.counts["payloads"] == (
        histories.counts["encrypted"]
        + histories.counts["search attributes"]
        + histories.counts["marker details"]
    )
    assert kafka.counts["messages"] >= 50 and database.counts["rows"] >= 100
    assert logs.counts["records"] > 0
    assert where_found(database, sent.free_text[0]) == {"certification.certificates"}
