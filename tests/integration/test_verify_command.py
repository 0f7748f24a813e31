"""``skillflow verify --credential`` as a person runs it: online it fetches the key set and
the status list from the did:web and status-list addresses the credential names (here a
small server on loopback publishing them); when those cannot be reached it falls back to
the saved files, and says so."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from credentials.documents import document_loader
from credentials.keys import did_document, did_web
from credentials.open_badge import (
    body_issuer,
    certificate_credential,
    status_list_credential,
)
from credentials.proofs import sign
from skillflow.stack.process import free_port
from tests.unit.test_credentials import FACTS, new_key

pytestmark = pytest.mark.integration


class Published:
    """What the issuer publishes, by path; changed by the test between runs."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}


@pytest.fixture
def issuer_site() -> Iterator[tuple[str, Published]]:
    published = Published()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            document = published.documents.get(self.path)
            body = json.dumps(document).encode()
            self.send_response(200 if document is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", published
    finally:
        server.shutdown()
        server.server_close()


def skillflow(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skillflow", *arguments], capture_output=True, text=True, timeout=120
    )


def test_verify_fetches_online_and_falls_back_to_saved_files(
    issuer_site: tuple[str, Published], tmp_path: Path
) -> None:
    base, published = issuer_site
    key = new_key()
    private = key.private_key
    assert private is not None
    issuer = body_issuer(base, "S-LN-1")
    facts = dataclasses.replace(FACTS, person_key="cd" * 32, status_index=3)

    def signed(document: dict[str, Any]) -> dict[str, Any]:
        return sign(
            document,
            private_key=private,
            verification_method=f"{issuer}#key-1",
            created=datetime.now(UTC),
            loader=document_loader(),
        )

    def status_list(revoked: list[int]) -> dict[str, Any]:
        return signed(status_list_credential(base, "S-LN-1", 0, revoked, datetime.now(UTC)))

    credential = signed(certificate_credential(facts, base))
    keys = did_document(did_web(base), [key])
    published.documents["/.well-known/did.json"] = keys
    published.documents["/credentials/status/S-LN-1/0"] = status_list([])
    files = {name: tmp_path / f"{name}.json" for name in ("credential", "keys", "status")}
    files["credential"].write_text(json.dumps(credential, ensure_ascii=False), "utf-8")
    files["keys"].write_text(json.dumps(keys), "utf-8")
    files["status"].write_text(json.dumps(status_list([])), "utf-8")

    online = skillflow("verify", "--credential", str(files["credential"]))
    assert online.returncode == 0, online.stdout + online.stderr
    assert "key set fetched" in online.stdout and "valid (status list fetched)" in online.stdout

    # Revoked since the files were saved: online sees it, the saved list does not.
    published.documents["/credentials/status/S-LN-1/0"] = status_list([3])
    online = skillflow("verify", "--credential", str(files["credential"]))
    assert online.returncode == 1 and "revoked (status list fetched)" in online.stdout
    saved = [
        "verify",
        "--credential",
        str(files["credential"]),
        "--keys",
        str(files["keys"]),
        "--status-list",
        str(files["status"]),
    ]
    offline = skillflow(*saved, "--offline")
    assert offline.returncode == 0 and "valid (status list saved)" in offline.stdout

    # The issuer unreachable: the saved files answer.
    published.documents.clear()
    fallback = skillflow(*saved)
    assert fallback.returncode == 0, fallback.stdout + fallback.stderr
    assert "key set saved" in fallback.stdout and "valid (status list saved)" in fallback.stdout
    nothing = skillflow("verify", "--credential", str(files["credential"]))
    assert nothing.returncode == 2 and "no key set" in nothing.stderr
