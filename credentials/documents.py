"""JSON-LD documents a credential refers to, served from the package: a verifier never
downloads a context at run time (it may be offline, and a context fetched from the
network could change what a signed credential means)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from importlib.resources import files
from typing import Any, Final

CREDENTIALS_V2: Final = "https://www.w3.org/ns/credentials/v2"
OPEN_BADGES_V3: Final = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
MULTIKEY_V1: Final = "https://w3id.org/security/multikey/v1"
DID_V1: Final = "https://www.w3.org/ns/did/v1"

_FILES: Final = {
    CREDENTIALS_V2: "credentials-v2.jsonld",
    OPEN_BADGES_V3: "open-badges-3.0.3.jsonld",
    MULTIKEY_V1: "multikey-v1.jsonld",
}


def _load() -> dict[str, dict[str, Any]]:
    folder = files("credentials").joinpath("contexts")
    return {
        url: json.loads(folder.joinpath(name).read_text(encoding="utf-8"))
        for url, name in _FILES.items()
    }


CONTEXTS: Final = _load()


class UnknownDocumentError(LookupError):
    """A document the credential names that SkillFlow neither ships nor was given."""


DocumentLoader = Callable[[str, Any], dict[str, Any]]


def document_loader(extra: Mapping[str, Mapping[str, Any]] | None = None) -> DocumentLoader:
    """A pyld document loader serving the shipped contexts and ``extra`` documents (by
    URL) only; anything else is an error, never a download."""
    documents: dict[str, Mapping[str, Any]] = {**CONTEXTS, **(extra or {})}

    def load(url: str, options: Any = None) -> dict[str, Any]:
        document = documents.get(url)
        if document is None:
            raise UnknownDocumentError(f"{url} is not a document SkillFlow serves offline")
        return {"contextUrl": None, "documentUrl": url, "document": document}

    return load
