"""Signed credentials without servers: the status list's bits, multibase keys, did:web
names, a proof that verifies and fails once anything is altered, and the offline check."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials.documents import UnknownDocumentError, document_loader
from credentials.keys import (
    IssuerKey,
    did_document,
    did_document_url,
    did_web,
    public_key_from_multibase,
    public_multibase,
)
from credentials.open_badge import (
    CertifiedLevel,
    body_issuer,
    certificate_credential,
    status_list_credential,
)
from credentials.proofs import ProofError, sign, verify
from credentials.status_list import LIST_LENGTH, decode_list, encode_list, is_set
from credentials.verification import KeySet, check_credential

BASE = "http://127.0.0.1:8000"


def new_key(key_id: str = "key-1") -> IssuerKey:
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return IssuerKey(key_id=key_id, public_key=public, private_key=private)


def signed(document: dict[str, object], key: IssuerKey, issuer: str) -> dict[str, object]:
    assert key.private_key is not None
    return sign(
        document,
        private_key=key.private_key,
        verification_method=f"{issuer}#{key.key_id}",
        created=datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
        loader=document_loader(),
    )


FACTS = CertifiedLevel(
    certificate_number="S000021000001264000015",
    person_key="ab" * 32,
    body_id="S-LN-1",
    body_name="辽宁省职业技能鉴定指导中心",
    occupation_code="6-20-01-01",
    occupation_name="钳工",
    level=4,
    issued_on=date(2026, 5, 1),
    status_index=LIST_LENGTH + 9,
)


def test_status_list_sets_the_leftmost_bit_first_and_round_trips() -> None:
    encoded = encode_list([0, 9, LIST_LENGTH - 1])
    assert encoded.startswith("u") and "=" not in encoded
    bits = decode_list(encoded)
    assert len(bits) == LIST_LENGTH // 8
    assert bits[0] == 0x80 and bits[1] == 0x40 and bits[-1] == 0x01
    assert [i for i in (0, 1, 8, 9, LIST_LENGTH - 1) if is_set(bits, i)] == [0, 9, LIST_LENGTH - 1]
    assert encode_list([9, 0, LIST_LENGTH - 1]) == encoded, "the same list, the same text"
    with pytest.raises(ValueError):
        encode_list([LIST_LENGTH])


def test_multibase_keys_and_did_web_names() -> None:
    key = new_key()
    assert key.public_multibase.startswith("z6Mk")  # the Ed25519 Multikey prefix
    assert public_key_from_multibase(public_multibase(key.public_key)) == key.public_key
    with pytest.raises(ValueError):
        public_key_from_multibase("u" + key.public_multibase[1:])
    assert did_web(BASE) == "did:web:127.0.0.1%3A8000"
    assert did_web("https://skillflow.example.cn", "bodies", "S1") == (
        "did:web:skillflow.example.cn:bodies:S1"
    )
    assert did_document_url("did:web:skillflow.example.cn") == (
        "https://skillflow.example.cn/.well-known/did.json"
    )
    assert did_document_url("did:web:127.0.0.1%3A8000:bodies:S1") == (
        "http://127.0.0.1:8000/bodies/S1/did.json"
    )


def test_the_credential_names_no_id_number_and_points_at_its_status_list() -> None:
    credential = certificate_credential(FACTS, BASE)
    assert credential["credentialSubject"]["id"] == f"urn:skillflow:person:{FACTS.person_key}"
    status = credential["credentialStatus"]
    assert (status["statusListIndex"], status["statusListCredential"]) == (
        "9",
        f"{BASE}/credentials/status/S-LN-1/1",
    )
    assert credential["issuer"]["id"] == "did:web:127.0.0.1%3A8000:bodies:S-LN-1"


def test_a_proof_verifies_and_fails_when_anything_changes() -> None:
    key = new_key()
    issuer = body_issuer(BASE, FACTS.body_id)
    credential = signed(certificate_credential(FACTS, BASE), key, issuer)
    verify(credential, key.public_key, document_loader())
    altered = copy.deepcopy(credential)
    altered["validFrom"] = "2020-05-01T00:00:00+08:00"
    with pytest.raises(ProofError):
        verify(altered, key.public_key, document_loader())
    with pytest.raises(ProofError):
        verify(credential, new_key().public_key, document_loader())


def test_offline_check_reads_the_saved_key_set_and_status_list() -> None:
    old, current = new_key("key-1"), new_key("key-2")
    issuer = body_issuer(BASE, FACTS.body_id)
    key_set = KeySet.from_did_document(did_document(did_web(BASE), [old, current]))
    credential = signed(certificate_credential(FACTS, BASE), old, issuer)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    clean = signed(status_list_credential(BASE, FACTS.body_id, 1, [], now), current, issuer)
    revoked = signed(status_list_credential(BASE, FACTS.body_id, 1, [9], now), current, issuer)

    check = check_credential(credential, key_set, clean)
    assert (check.signature, check.status, check.key_id, check.verified) == (
        "valid",
        "valid",
        "key-1",
        True,
    )
    assert check_credential(credential, key_set, revoked).status == "revoked"
    assert check_credential(credential, key_set, None).status == "not_checked"
    other_list = signed(status_list_credential(BASE, FACTS.body_id, 0, [], now), current, issuer)
    assert check_credential(credential, key_set, other_list).status == "invalid"
    # A key set that is not SkillFlow's proves nothing.
    stranger = KeySet.from_did_document(did_document("did:web:elsewhere.example", [old]))
    assert check_credential(credential, stranger, clean).signature == "invalid"


def test_the_document_loader_never_downloads() -> None:
    with pytest.raises(UnknownDocumentError):
        document_loader()("https://example.com/context.jsonld", None)
