"""Bitstring Status List (W3C VC Bitstring Status List v1.0): bit i of the list is set when
the credential with status index i is revoked. The list is GZIP-compressed and
multibase-encoded (base64url without padding, prefix ``u``); index 0 is the most
significant bit of the first byte."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable
from typing import Final

# The specification's minimum (16 KiB), which keeps any one holder's index from standing out.
LIST_LENGTH: Final = 131_072


def encode_list(revoked: Iterable[int], length: int = LIST_LENGTH) -> str:
    bits = bytearray(length // 8)
    for index in revoked:
        if not 0 <= index < length:
            raise ValueError(f"status index {index} is outside the list")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same list always encodes to the same text.
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode_list(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url (start with u)")
    text = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def is_set(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise ValueError(f"status index {index} is outside the list")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
