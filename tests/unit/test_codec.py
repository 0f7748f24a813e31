"""The key ring, the payload codec and their settings, without any server."""

from __future__ import annotations

import base64
import json

import pytest
from temporalio.api.common.v1 import Payload

from schemas.exam_session import SessionExaminer
from skillflow.codec import ENCODING, KEY_ID_METADATA, EncryptionCodec, data_converter
from skillflow.settings import DEVELOPMENT_PAYLOAD_KEY, Settings, SettingsError, load_settings
from store.sealed import KeyRing, SealError, generate_key

OLD, NEW = generate_key(), generate_key()
NAME = "王秀英"


def _ring(current: str = "k1", **keys: str) -> KeyRing:
    return KeyRing.from_base64(keys or {"k1": OLD}, current)


async def test_payloads_are_encrypted_and_name_their_key() -> None:
    converter = data_converter(_ring())
    examiner = SessionExaminer(examiner_id="E-1", name=NAME, grade="senior", employer="91210")
    [payload] = await converter.encode([examiner])
    assert payload.metadata["encoding"] == ENCODING
    assert payload.metadata[KEY_ID_METADATA] == b"k1"
    wire = payload.SerializeToString()
    assert NAME.encode() not in wire and b"E-1" not in wire and b"91210" not in wire
    [back] = await converter.decode([payload], [SessionExaminer])
    assert back == examiner


async def test_the_same_value_encrypts_differently_each_time() -> None:
    codec = EncryptionCodec(_ring())
    plain = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(NAME).encode())
    first, second = await codec.encode([plain, plain])
    assert first.data != second.data


async def test_rotation_decodes_with_any_known_key_and_encodes_with_the_current() -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"reason"')
    [sealed_by_old] = await EncryptionCodec(_ring("k1", k1=OLD)).encode([plain])
    rotated = EncryptionCodec(_ring("k2", k1=OLD, k2=NEW))
    assert await rotated.decode([sealed_by_old]) == [plain]
    [sealed_by_new] = await rotated.encode([plain])
    assert sealed_by_new.metadata[KEY_ID_METADATA] == b"k2"
    # Once the old key is dropped, what it sealed no longer opens, with a named error.
    with pytest.raises(SealError, match="'k1'"):
        await EncryptionCodec(_ring("k2", k2=NEW)).decode([sealed_by_old])


async def test_a_tampered_payload_does_not_decode() -> None:
    codec = EncryptionCodec(_ring())
    [sealed] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"1")])
    tampered = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + b"\0")
    with pytest.raises(SealError):
        await codec.decode([tampered])


async def test_an_encrypted_payload_missing_its_key_id_or_nonce_is_a_seal_error() -> None:
    codec = EncryptionCodec(_ring())
    [sealed] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"1")])
    without_key = Payload(metadata={"encoding": ENCODING}, data=sealed.data)
    short = Payload(metadata=dict(sealed.metadata), data=sealed.data[:5])
    for damaged in (without_key, short):
        with pytest.raises(SealError):
            await codec.decode([damaged])


async def test_unencrypted_payloads_pass_through_decode_unchanged() -> None:
    # Histories recorded before the codec (the replay fixtures) must still read.
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"a": 1}')
    empty = Payload(metadata={"encoding": b"binary/null"})
    assert await EncryptionCodec(_ring()).decode([plain, empty]) == [plain, empty]


def test_sealed_columns_open_only_in_their_place() -> None:
    ring = _ring()
    sealed = ring.seal_text(NAME, "certification.applications.holder_name_sealed:A-1")
    assert NAME.encode() not in sealed
    assert ring.open_text(sealed, "certification.applications.holder_name_sealed:A-1") == NAME
    with pytest.raises(SealError):
        ring.open_text(sealed, "certification.applications.holder_name_sealed:A-2")
    # A column value is no payload and the other way round (different associated data).
    with pytest.raises(SealError):
        ring.open_text(b"\x01\x02k1" + sealed[4:], "x")


def test_settings_default_to_the_development_key_and_say_so() -> None:
    settings = Settings()
    assert settings.uses_development_payload_key
    assert settings.key_ring.current_key_id == settings.payload_key_id
    generated = Settings(payload_keys={"2026-11": NEW}, payload_key_id="2026-11")
    assert not generated.uses_development_payload_key
    # The development key under another id is still the development key.
    renamed = Settings(payload_keys={"x": DEVELOPMENT_PAYLOAD_KEY}, payload_key_id="x")
    assert renamed.uses_development_payload_key


def test_bad_payload_keys_name_the_variable_and_never_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    short = base64.b64encode(b"too short").decode()
    monkeypatch.setenv("SKILLFLOW_PAYLOAD_KEYS", json.dumps({"k1": short}))
    monkeypatch.setenv("SKILLFLOW_PAYLOAD_KEY_ID", "k1")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "SKILLFLOW_PAYLOAD_KEYS" in str(raised.value)
    assert short not in str(raised.value)

    monkeypatch.setenv("SKILLFLOW_PAYLOAD_KEYS", json.dumps({"k1": NEW}))
    monkeypatch.setenv("SKILLFLOW_PAYLOAD_KEY_ID", "k2")
    with pytest.raises(SettingsError, match="SKILLFLOW_PAYLOAD_KEY_ID"):
        load_settings()
    monkeypatch.setenv("SKILLFLOW_PAYLOAD_KEY_ID", "k1")
    assert load_settings().key_ring.current_key_id == "k1"
