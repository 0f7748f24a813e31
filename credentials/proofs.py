"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (W3C VC Data Integrity
EdDSA Cryptosuites v1.0): the document and the proof options are each canonicalised with
RDFC-1.0, hashed with SHA-256, and the two hashes (options first) signed with Ed25519."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Final

import base58
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyld import jsonld

from credentials.documents import DocumentLoader
from credentials.keys import verify_signature

CRYPTOSUITE: Final = "eddsa-rdfc-2022"


class ProofError(ValueError):
    """A proof that is missing, of another kind, or whose signature does not verify."""


def _canonical(document: dict[str, Any], loader: DocumentLoader) -> bytes:
    normalized: str = jsonld.normalize(
        document,
        {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader},
    )
    return normalized.encode()


def _hash_data(document: dict[str, Any], options: dict[str, Any], loader: DocumentLoader) -> bytes:
    proof_config = {**options, "@context": document["@context"]}
    return (
        hashlib.sha256(_canonical(proof_config, loader)).digest()
        + hashlib.sha256(_canonical(document, loader)).digest()
    )


def sign(
    document: dict[str, Any],
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
    loader: DocumentLoader,
) -> dict[str, Any]:
    """``document`` with an assertion proof by ``verification_method``."""
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    signature = private_key.sign(_hash_data(document, options, loader))
    return {
        **document,
        "proof": {**options, "proofValue": "z" + base58.b58encode(signature).decode()},
    }


def proof_of(secured: dict[str, Any]) -> dict[str, Any]:
    proof = secured.get("proof")
    if not isinstance(proof, dict):
        raise ProofError("the credential carries no single proof")
    if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"the proof is not a DataIntegrityProof with {CRYPTOSUITE}")
    if proof.get("proofPurpose") != "assertionMethod":
        raise ProofError("the proof is not for assertions")
    return proof


def verify(secured: dict[str, Any], public_key: bytes, loader: DocumentLoader) -> None:
    """Raise ProofError unless ``secured``'s proof is a valid signature by ``public_key``."""
    proof = proof_of(secured)
    value = str(proof.get("proofValue", ""))
    if not value.startswith("z"):
        raise ProofError("proofValue must be base58btc (start with z)")
    try:
        signature = base58.b58decode(value[1:])
    except ValueError:
        raise ProofError("proofValue is not base58btc") from None
    document = {k: v for k, v in secured.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    if not verify_signature(public_key, signature, _hash_data(document, options, loader)):
        raise ProofError(
            "the signature does not verify: the credential was altered or not signed by this key"
        )
