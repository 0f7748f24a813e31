"""Temporal's remote codec protocol, for an operator's Temporal Web UI or ``temporal`` CLI.

Payloads are encrypted (``skillflow.codec``), so the UI and ``temporal workflow show``
print ciphertext unless they are pointed here: ``POST /codec/decode`` and
``POST /codec/encode`` take and answer ``{"payloads": [...]}`` in the protobuf JSON form
(metadata values and data base64). Operators only; the UI calls from its own origin, so
these routes answer CORS for the origins in ``SKILLFLOW_CODEC_CORS_ORIGINS``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from temporalio.api.common.v1 import Payloads

from api.access import Operator
from api.services import Services
from policy.errors import RuleViolation
from policy.rule_ids import Rule
from skillflow.codec import EncryptionCodec
from store.sealed import SealError

router = APIRouter(prefix="/codec", tags=["operations"])

PayloadsJson = Annotated[
    dict[str, Any],
    Body(
        description='{"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}',
        examples=[{"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "MQ=="}]}],
    ),
]


def _payloads(body: dict[str, Any]) -> Payloads:
    try:
        return ParseDict(body, Payloads())
    except ParseError as exc:
        raise RuleViolation("payloads", Rule.CODEC_MALFORMED, str(exc)) from None


def _answer(payloads: list[Any]) -> dict[str, Any]:
    return {"payloads": [MessageToDict(payload) for payload in payloads]}


@router.post("/decode")
async def decode(body: PayloadsJson, _: Operator, services: Services) -> dict[str, Any]:
    """Decrypt payloads (unencrypted ones come back unchanged)."""
    codec = EncryptionCodec(services.settings.key_ring)
    try:
        return _answer(await codec.decode(_payloads(body).payloads))
    except SealError as exc:
        raise RuleViolation("payloads", Rule.CODEC_UNDECRYPTABLE, str(exc)) from None


@router.post("/encode")
async def encode(body: PayloadsJson, _: Operator, services: Services) -> dict[str, Any]:
    """Encrypt payloads with the current key (what the UI sends when it signals)."""
    codec = EncryptionCodec(services.settings.key_ring)
    return _answer(await codec.encode(_payloads(body).payloads))
