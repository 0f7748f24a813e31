"""The Temporal payload codec: every workflow and activity payload is encrypted.

Workflow inputs carry names (an examiner's, say) and commands carry free text (a
rejection's reason): encrypted on the client and the worker, so the Temporal server, its
database and its Web UI hold only ciphertext. An operator decodes through the API's
``/codec`` endpoint (``api.routes.codec``), which speaks Temporal's remote codec protocol.

An encoded payload is ``encoding: binary/encrypted`` with the key id in
``encryption-key-id`` and, as data, the nonce followed by the AES-256-GCM ciphertext of the
whole serialized inner payload (metadata included). A payload that is not encrypted
passes through unchanged on decode: histories recorded before the codec (the replay
tests' fixtures, workflows started before an upgrade) still read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from store.sealed import NONCE_BYTES, KeyRing, SealedBox, SealError

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
# Binds the ciphertext to its use: a sealed column value does not decode as a payload.
ASSOCIATED_DATA = b"temporal-payload"


class EncryptionCodec(PayloadCodec):
    def __init__(self, key_ring: KeyRing) -> None:
        super().__init__()
        self._key_ring = key_ring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(payload) for payload in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        box = self._key_ring.seal(payload.SerializeToString(), ASSOCIATED_DATA)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: box.key_id.encode()},
            data=box.nonce + box.ciphertext,
        )

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA)
        if key_id is None or len(payload.data) <= NONCE_BYTES:
            raise SealError("an encrypted payload without its key id or its nonce")
        box = SealedBox(
            key_id=key_id.decode(errors="replace"),
            nonce=payload.data[:NONCE_BYTES],
            ciphertext=payload.data[NONCE_BYTES:],
        )
        return Payload.FromString(self._key_ring.open(box, ASSOCIATED_DATA))


def data_converter(key_ring: KeyRing) -> DataConverter:
    """Pydantic payloads, encrypted: the converter of every client, worker and replayer.

    Failures too: their message and stack trace move into an encoded (so encrypted)
    attribute, since an error may quote an input.
    """
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(key_ring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
