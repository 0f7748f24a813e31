"""SkillFlow's issuer keys: Ed25519, identified by id (``key-1``, ``key-2``, ...), rotatable.

The newest key signs; retired keys stay published so credentials signed with them still
verify. Private keys are kept in PostgreSQL sealed under the payload key ring
(``store/sealed.py``, AES-256-GCM, bound to the key's row); public keys are published as ``did:web``
documents in the Multikey form (``publicKeyMultibase``: base58btc of the multicodec
ed25519-pub prefix and the raw key).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

import base58
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from credentials.documents import DID_V1, MULTIKEY_V1
from store.database import Connection
from store.sealed import KeyRing

# multicodec ed25519-pub, as a varint
_ED25519_PUB: Final = b"\xed\x01"


@dataclass(frozen=True)
class IssuerKey:
    key_id: str
    public_key: bytes
    private_key: Ed25519PrivateKey | None = None
    retired_at: datetime | None = None

    @property
    def public_multibase(self) -> str:
        return public_multibase(self.public_key)


def public_multibase(raw: bytes) -> str:
    return "z" + base58.b58encode(_ED25519_PUB + raw).decode()


def public_key_from_multibase(value: str) -> bytes:
    """The raw Ed25519 public key of a ``publicKeyMultibase``; ValueError if it is not one."""
    if not value.startswith("z"):
        raise ValueError("publicKeyMultibase must be base58btc (start with z)")
    decoded = base58.b58decode(value[1:])
    if not decoded.startswith(_ED25519_PUB) or len(decoded) != len(_ED25519_PUB) + 32:
        raise ValueError("publicKeyMultibase is not an Ed25519 public key")
    return decoded[len(_ED25519_PUB) :]


def verify_signature(public_key: bytes, signature: bytes, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except InvalidSignature:
        return False
    return True


# --- did:web ------------------------------------------------------------------------------


def did_web(base_url: str, *path: str) -> str:
    """The did:web identifier of ``base_url`` (and a path below it): the host, with a port's
    colon percent-encoded, then path segments joined by colons."""
    host = urlsplit(base_url).netloc.replace(":", "%3A")
    return ":".join(["did:web", host, *path])


def did_document_url(did: str) -> str:
    """Where a did:web document is served (https; http for a loopback development host)."""
    parts = did.split(":")
    if parts[:2] != ["did", "web"] or len(parts) < 3:
        raise ValueError(f"{did} is not a did:web identifier")
    host = parts[2].replace("%3A", ":")
    scheme = "http" if host.split(":")[0] in ("127.0.0.1", "localhost", "[::1]") else "https"
    path = "/".join(parts[3:]) if len(parts) > 3 else ".well-known"
    return f"{scheme}://{host}/{path}/did.json"


def did_document(did: str, keys: list[IssuerKey]) -> dict[str, Any]:
    """A DID document publishing every key (retired ones too) for assertions."""
    methods = [
        {
            "id": f"{did}#{key.key_id}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.public_multibase,
        }
        for key in keys
    ]
    return {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


def keys_of_did_document(document: dict[str, Any]) -> dict[str, bytes]:
    """key id -> raw public key, from a DID document (a saved key set)."""
    found: dict[str, bytes] = {}
    for method in document.get("verificationMethod", []):
        if method.get("type") == "Multikey" and "#" in str(method.get("id", "")):
            found[str(method["id"]).rsplit("#", 1)[1]] = public_key_from_multibase(
                str(method["publicKeyMultibase"])
            )
    return found


# --- storage ------------------------------------------------------------------------------


def _place(key_id: str) -> str:
    return f"credentials.issuer_keys.private_key:{key_id}"


def _wrap(private_key: Ed25519PrivateKey, key_id: str, key_ring: KeyRing) -> bytes:
    raw = private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return key_ring.seal_text(base64.b64encode(raw).decode(), _place(key_id))


def _unwrap(wrapped: bytes, key_id: str, key_ring: KeyRing) -> Ed25519PrivateKey:
    raw = base64.b64decode(key_ring.open_text(wrapped, _place(key_id)))
    return Ed25519PrivateKey.from_private_bytes(raw)


async def load_keys(conn: Connection, key_ring: KeyRing) -> list[IssuerKey]:
    """Every key, oldest first; the last one is the signing key."""
    rows = await conn.fetch(
        "SELECT * FROM credentials.issuer_keys ORDER BY key_number",
    )
    return [
        IssuerKey(
            key_id=row["key_id"],
            public_key=public_key_from_multibase(row["public_multibase"]),
            private_key=_unwrap(row["private_key"], row["key_id"], key_ring),
            retired_at=row["retired_at"],
        )
        for row in rows
    ]


async def add_key(conn: Connection, key_ring: KeyRing) -> IssuerKey:
    """A new signing key; the previous one is retired (still published). Call in a
    transaction: concurrent callers are serialised by the table lock."""
    await conn.execute("LOCK TABLE credentials.issuer_keys IN SHARE ROW EXCLUSIVE MODE")
    number = await conn.fetchval(
        "SELECT coalesce(max(key_number), 0) + 1 FROM credentials.issuer_keys"
    )
    key_id = f"key-{number}"
    private_key = Ed25519PrivateKey.generate()
    public = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    await conn.execute(
        "UPDATE credentials.issuer_keys SET retired_at = now() WHERE retired_at IS NULL"
    )
    await conn.execute(
        """INSERT INTO credentials.issuer_keys (key_number, key_id, public_multibase, private_key)
           VALUES ($1, $2, $3, $4)""",
        number,
        key_id,
        public_multibase(public),
        _wrap(private_key, key_id, key_ring),
    )
    return IssuerKey(key_id=key_id, public_key=public, private_key=private_key)


async def signing_keys(conn: Connection, key_ring: KeyRing) -> list[IssuerKey]:
    """Every key, making the first one when there is none yet."""
    keys = await load_keys(conn, key_ring)
    if keys:
        return keys
    async with conn.transaction():
        keys = await load_keys(conn, key_ring)
        if not keys:
            await add_key(conn, key_ring)
    return await load_keys(conn, key_ring)
