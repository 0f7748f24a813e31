"""Payloads reach the real Temporal server encrypted; operators decode them through /codec."""

from __future__ import annotations

import base64
import json
import uuid

import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.api.enums.v1 import EventType

from policy.rule_ids import Rule
from schemas.evaluation_body import BodyFiling, BodyRun, ScopeEntry
from skillflow.codec import ENCODING, KEY_ID_METADATA
from skillflow.settings import Role
from tests.integration.conftest import RunningStack
from tests.integration.steps import Auth

pytestmark = pytest.mark.integration
CENTRE_NAME = "沈阳市第七职业技能鉴定站"


async def _started_input(stack: RunningStack) -> dict[str, object]:
    """The raw input payload of a workflow just started (nobody runs it: no worker polls)."""
    workflow_id = f"codec-{uuid.uuid4().hex[:8]}"
    filing = BodyFiling(
        body_id=f"S-CODEC-{uuid.uuid4().hex[:6]}",
        body_type="S",
        name=CENTRE_NAME,
        province_code="21",
        site_serial="000007",
        scope=[ScopeEntry(occupation_code="6-31-01-03", level=4)],
    )
    handle = await stack.temporal.start_workflow(
        "EvaluationBodyWorkflow", BodyRun(filing=filing), id=workflow_id, task_queue="no-worker"
    )
    try:
        history = await handle.fetch_history()  # as the server keeps it: not decoded
    finally:
        await handle.terminate("test over")
    started = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    )
    [payload] = started.workflow_execution_started_event_attributes.input.payloads
    assert payload.metadata["encoding"] == ENCODING
    assert payload.metadata[KEY_ID_METADATA] == stack.settings.payload_key_id.encode()
    assert CENTRE_NAME.encode() not in payload.SerializeToString()
    return MessageToDict(payload)


async def test_the_server_holds_ciphertext_and_an_operator_decodes_it(
    stack: RunningStack, api: httpx.AsyncClient, auth: Auth
) -> None:
    encrypted = await _started_input(stack)
    response = await api.post(
        "/codec/decode", json={"payloads": [encrypted]}, headers=auth(Role.OPERATOR)
    )
    assert response.status_code == 200, response.text
    [plain] = response.json()["payloads"]
    assert base64.b64decode(plain["metadata"]["encoding"]) == b"json/plain"
    assert json.loads(base64.b64decode(plain["data"]))["filing"]["name"] == CENTRE_NAME

    # Encoding gives ciphertext under the current key that decodes back to the same value.
    response = await api.post(
        "/codec/encode", json={"payloads": [plain]}, headers=auth(Role.OPERATOR)
    )
    [again] = response.json()["payloads"]
    assert base64.b64decode(again["metadata"]["encoding"]) == ENCODING
    assert again["data"] != encrypted["data"]
    response = await api.post(
        "/codec/decode", json={"payloads": [again]}, headers=auth(Role.OPERATOR)
    )
    assert response.json()["payloads"] == [plain]


async def test_only_operators_decode(
    stack: RunningStack, api: httpx.AsyncClient, auth: Auth
) -> None:
    encrypted = await _started_input(stack)
    for role in (Role.CENTRE, Role.REGULATOR, Role.RECORDS_OFFICER):
        response = await api.post(
            "/codec/decode", json={"payloads": [encrypted]}, headers=auth(role)
        )
        assert response.status_code == 403
        assert CENTRE_NAME not in response.text
    assert (await api.post("/codec/decode", json={"payloads": [encrypted]})).status_code == 401


async def test_damaged_payloads_are_named_refusals(api: httpx.AsyncClient, auth: Auth) -> None:
    damaged = {
        "metadata": {
            "encoding": base64.b64encode(ENCODING).decode(),
            KEY_ID_METADATA: base64.b64encode(b"no-such-key").decode(),
        },
        "data": base64.b64encode(b"\0" * 40).decode(),
    }
    response = await api.post(
        "/codec/decode", json={"payloads": [damaged]}, headers=auth(Role.OPERATOR)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == Rule.CODEC_UNDECRYPTABLE
    response = await api.post(
        "/codec/decode", json={"payloads": [{"data": "not base64!"}]}, headers=auth(Role.OPERATOR)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == Rule.CODEC_MALFORMED


async def test_the_temporal_ui_origin_may_call_the_codec(
    stack: RunningStack, api: httpx.AsyncClient
) -> None:
    origin = stack.settings.codec_cors_origins[0]
    preflight = await api.options(
        "/codec/decode",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    elsewhere = await api.options(
        "/codec/decode",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in elsewhere.headers
