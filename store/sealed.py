"""Sealing personal data with AES-256-GCM under a ring of keys identified by id.

One key ring serves the Temporal payload codec (``skillflow.codec``) and the few encrypted
columns (a holder's name, an examiner's name). Keys have ids so they can be rotated: a
value is sealed with the current key and names that key; any key still in the ring opens
it. Rotating is adding a key, making it current, and dropping the old one once nothing
sealed with it is left.

A sealed column value is one ``bytea``: a version byte, the key id's length and bytes, a
96-bit nonce, then the ciphertext with its tag. The associated data binds the value to
where it belongs (table, column, row), so a sealed name copied onto another row does not
open there.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
COLUMN_FORMAT = 1


class SealError(Exception):
    """A sealed value that no key in the ring opens: unknown key id, damaged, or moved."""


@dataclass(frozen=True)
class SealedBox:
    """What one sealing produced: the key that sealed it, the nonce and ciphertext+tag."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class KeyRing:
    keys: Mapping[str, bytes]
    current_key_id: str
    _ciphers: dict[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.current_key_id not in self.keys:
            raise ValueError(f"the current key id {self.current_key_id!r} is not in the ring")
        for key_id, key in self.keys.items():
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}")
            if not key_id or len(key_id.encode()) > 255:
                raise ValueError("a key id is 1 to 255 bytes")
        object.__setattr__(
            self, "_ciphers", {key_id: AESGCM(key) for key_id, key in self.keys.items()}
        )

    @classmethod
    def from_base64(cls, keys: Mapping[str, str], current_key_id: str) -> KeyRing:
        return cls({key_id: base64.b64decode(key) for key_id, key in keys.items()}, current_key_id)

    def seal(self, plaintext: bytes, associated_data: bytes = b"") -> SealedBox:
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._ciphers[self.current_key_id].encrypt(nonce, plaintext, associated_data)
        return SealedBox(self.current_key_id, nonce, ciphertext)

    def open(self, box: SealedBox, associated_data: bytes = b"") -> bytes:
        cipher = self._ciphers.get(box.key_id)
        if cipher is None:
            raise SealError(f"sealed with key {box.key_id!r}, which is not in the key ring")
        try:
            return cipher.decrypt(box.nonce, box.ciphertext, associated_data)
        except InvalidTag:
            raise SealError(f"a value sealed with key {box.key_id!r} does not open") from None

    # --- columns ------------------------------------------------------------------------

    def seal_text(self, text: str, where: str) -> bytes:
        """One ``bytea`` column value; ``where`` names its place (``table.column:row``)."""
        box = self.seal(text.encode(), where.encode())
        key_id = box.key_id.encode()
        return bytes([COLUMN_FORMAT, len(key_id)]) + key_id + box.nonce + box.ciphertext

    def open_text(self, sealed: bytes, where: str) -> str:
        if len(sealed) < 2 or sealed[0] != COLUMN_FORMAT:
            raise SealError("not a sealed column value")
        end = 2 + sealed[1]
        box = SealedBox(
            key_id=sealed[2:end].decode(),
            nonce=sealed[end : end + NONCE_BYTES],
            ciphertext=sealed[end + NONCE_BYTES :],
        )
        return self.open(box, where.encode()).decode()


def holder_name_place(application_id: str) -> str:
    """Where a holder's sealed name lives: ``certification.applications``, one per row."""
    return f"certification.applications.holder_name_sealed:{application_id}"


def examiner_names_place(session_id: str) -> str:
    """Where a session's examiners' names live: a sealed JSON ``{examiner_id: name}``."""
    return f"certification.sessions.examiner_names_sealed:{session_id}"


def import_row_place(job_id: str, row: int) -> str:
    """Where an import row's sealed cells live until the row is decided: a JSON object."""
    return f"imports.rows.cells_sealed:{job_id}:{row}"


def generate_key() -> str:
    """A fresh AES-256 key, base64 as ``SKILLFLOW_PAYLOAD_KEYS`` takes it."""
    return base64.b64encode(AESGCM.generate_key(bit_length=KEY_BYTES * 8)).decode()
