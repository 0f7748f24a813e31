"""Checking a SkillFlow credential: the signature against a key set (SkillFlow's did:web
document, saved for offline use or fetched), then the revocation bit in the issuing body's
status list (saved, or fetched when reachable), whose own signature is checked the same way.

The key set is SkillFlow's DID document; an evaluation body issues under SkillFlow's keys,
so a proof by ``did:web:HOST:bodies:BODY#key-n`` is checked with ``key-n`` of
``did:web:HOST``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from credentials.documents import document_loader
from credentials.keys import keys_of_did_document
from credentials.proofs import ProofError, proof_of, verify
from credentials.status_list import decode_list, is_set


@dataclass(frozen=True)
class KeySet:
    did: str
    keys: dict[str, bytes]

    @classmethod
    def from_did_document(cls, document: dict[str, Any]) -> KeySet:
        return cls(did=str(document["id"]), keys=keys_of_did_document(document))


@dataclass
class CredentialCheck:
    signature: Literal["valid", "invalid"] = "invalid"
    status: Literal["valid", "revoked", "not_checked", "invalid"] = "not_checked"
    key_id: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.signature == "valid" and self.status == "valid"


def _issuer_id(document: dict[str, Any]) -> str:
    issuer = document.get("issuer")
    return str(issuer.get("id") if isinstance(issuer, dict) else issuer)


def check_signature(document: dict[str, Any], key_set: KeySet) -> str:
    """The key id that signed ``document``; ProofError if none of the key set did."""
    proof = proof_of(document)
    method = str(proof.get("verificationMethod", ""))
    did, _, key_id = method.partition("#")
    if did != key_set.did and not did.startswith(f"{key_set.did}:bodies:"):
        raise ProofError(f"signed by {did}, which is not under the key set's {key_set.did}")
    # The issuer signs for itself: a body's key proves nothing about another issuer.
    if did != _issuer_id(document):
        raise ProofError("the proof's signer is not the credential's issuer")
    key = key_set.keys.get(key_id)
    if key is None:
        raise ProofError(f"the key set has no key {key_id}")
    verify(document, key, document_loader())
    return key_id


def check_credential(
    credential: dict[str, Any],
    key_set: KeySet,
    status_list: dict[str, Any] | None,
    now: datetime | None = None,
) -> CredentialCheck:
    check = CredentialCheck()
    try:
        check.key_id = check_signature(credential, key_set)
        check.signature = "valid"
    except (ProofError, ValueError) as exc:
        check.problems.append(f"signature: {exc}")
    valid_from = credential.get("validFrom")
    moment = now or datetime.now(UTC)
    if isinstance(valid_from, str) and datetime.fromisoformat(valid_from) > moment:
        check.problems.append(f"not valid before {valid_from}")
        check.signature = "invalid"
    if status_list is None:
        check.problems.append("status: no status list at hand (offline, none saved)")
        return check
    entry = credential.get("credentialStatus")
    try:
        if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
            raise ProofError("the credential has no BitstringStatusListEntry")
        if status_list.get("id") != entry.get("statusListCredential"):
            raise ProofError("the status list given is not the one the credential names")
        if _issuer_id(status_list) != _issuer_id(credential):
            raise ProofError("the status list's issuer is not the credential's issuer")
        check_signature(status_list, key_set)
        subject = status_list["credentialSubject"]
        if subject.get("statusPurpose") != entry.get("statusPurpose"):
            raise ProofError("the status list is for another purpose")
        revoked = is_set(decode_list(str(subject["encodedList"])), int(entry["statusListIndex"]))
    except (ProofError, ValueError, KeyError, OSError) as exc:
        check.status = "invalid"
        check.problems.append(f"status: {exc}")
        return check
    check.status = "revoked" if revoked else "valid"
    if revoked:
        check.problems.append("status: the certificate has been revoked")
    return check
