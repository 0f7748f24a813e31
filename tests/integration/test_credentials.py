"""Signed credentials on the real stack, through the HTTP API: a certificate issued by the
workflows comes back as an Open Badges 3.0 credential that SkillFlow's own check and an
independent verifier (Digital Bazaar's VC libraries on Node.js) both accept, that fails
the status check once the certificate is revoked, that fails when altered, and that
still verifies after the signing key is rotated. The CLI checks it offline from saved
files."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from credentials.verification import KeySet, check_credential
from skillflow.settings import Role
from tests.integration.steps import (
    Auth,
    approved_body,
    certificate_issued,
    examined,
    new_id_number,
    open_session,
    registered,
    today,
)
from tests.integration.test_prior_certificates import import_prior, older_number, prior

# The worker and the consumers run for every test here (certificates issued, then archived).
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker", "consumers")]

VERIFIER = Path(__file__).parents[1] / "verifier" / "verify.mjs"
HOLDER = "孙立新"


async def issued_certificate(
    api: httpx.AsyncClient, auth: Auth, events: Any, id_number: str | None = None
) -> str:
    """A level-5 certificate issued through the API (demo-fast notice)."""
    body_id = await approved_body(api, auth, levels=[5])
    session_id = await open_session(api, auth, body_id, level=5)
    application_id = await registered(api, auth, session_id, HOLDER, id_number=id_number)
    await examined(api, auth, session_id, application_id, theory=85, practical=90)
    issued = await certificate_issued(events, application_id)
    return str(issued.payload["certificate_number"])


def skillflow(*arguments: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a person runs it (it leaves with os._exit, so in its own process)."""
    return subprocess.run(
        [sys.executable, "-m", "skillflow", *arguments], capture_output=True, text=True, timeout=120
    )


def local_path(stack: Any, url: str) -> str:
    base = stack.settings.credential_base_url
    assert url.startswith(base), url
    return url[len(base) :]


async def published(
    stack: Any, api: httpx.AsyncClient, credential: dict[str, Any]
) -> dict[str, Any]:
    """What a verifier fetches, fetched through the API: SkillFlow's key set, the issuing
    body's DID document and key, and the status list."""
    issuer = credential["issuer"]["id"]
    body_id = issuer.rsplit(":", 1)[1]
    skillflow = (await api.get("/.well-known/did.json")).json()
    body = (await api.get(f"/bodies/{body_id}/did.json")).json()
    assert body["id"] == issuer
    status_url = credential["credentialStatus"]["statusListCredential"]
    status = await api.get(local_path(stack, status_url))
    assert status.status_code == 200, status.text
    return {"skillflow": skillflow, "body": body, "status_list": status.json()}


def independent(credential: dict[str, Any], documents: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """The independent verifier's verdict: {"verified", "revoked", "error"}."""
    body = documents["body"]
    served: dict[str, Any] = {body["id"]: body}
    for method in body["verificationMethod"]:
        served[method["id"]] = {"@context": "https://w3id.org/security/multikey/v1", **method}
    served[documents["status_list"]["id"]] = documents["status_list"]
    request = tmp / "verify-input.json"
    request.write_text(json.dumps({"credential": credential, "documents": served}), "utf-8")
    run = subprocess.run(
        ["node", str(VERIFIER), str(request)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    verdict: dict[str, Any] = json.loads(run.stdout)
    return verdict


async def test_issued_certificate_is_a_credential_an_independent_verifier_accepts_until_revoked(
    stack: Any, api: httpx.AsyncClient, auth: Auth, events: Any, tmp_path: Path
) -> None:
    number = await issued_certificate(api, auth, events)
    path = f"/certificates/{number}/credential"

    # A number SkillFlow issued itself is not imported as a prior certificate: it counts already.
    [refused] = await import_prior(
        api, auth, prior(new_id_number(), number, 5, today() - timedelta(days=1))
    )
    assert [e["rule"] for e in refused["errors"]] == ["import.issued_here"]

    # The holder's name goes with the number; a wrong one is answered as an unknown number.
    assert (await api.post(path, json={})).status_code == 422
    wrong = await api.post(path, json={"holder_name": "李四"})
    unknown = await api.post(
        "/certificates/S000021000001264999999/credential", json={"holder_name": HOLDER}
    )
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()

    response = await api.post(path, json={"holder_name": HOLDER})
    assert response.status_code == 200, response.text
    credential = response.json()
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    subject = credential["credentialSubject"]
    assert subject["achievement"]["name"].startswith("钳工 五级")
    assert subject["id"].startswith("urn:skillflow:person:") and HOLDER not in json.dumps(
        credential
    )
    assert credential["issuer"]["id"].endswith(
        f":bodies:{credential['issuer']['id'].rsplit(':', 1)[1]}"
    )
    assert number in credential["description"]
    # Asked again, it keeps its place in the status list.
    again = (await api.post(path, json={"holder_name": HOLDER})).json()
    assert again["credentialStatus"] == credential["credentialStatus"]

    documents = await published(stack, api, credential)
    key_set = KeySet.from_did_document(documents["skillflow"])
    ours = check_credential(credential, key_set, documents["status_list"])
    assert (ours.signature, ours.status) == ("valid", "valid"), ours.problems
    assert independent(credential, documents, tmp_path) == {
        "verified": True,
        "revoked": False,
        "error": None,
    }

    # Altered: the level changed. Both verifiers refuse the signature.
    altered = copy.deepcopy(credential)
    altered["credentialSubject"]["achievement"]["name"] = "钳工 一级/高级技师"
    assert check_credential(altered, key_set, documents["status_list"]).signature == "invalid"
    assert independent(altered, documents, tmp_path)["verified"] is False

    # The CLI, offline, from the saved credential, key set and status list.
    saved = {name: tmp_path / f"{name}.json" for name in ("credential", "keys", "status")}
    saved["credential"].write_text(json.dumps(credential, ensure_ascii=False), "utf-8")
    saved["keys"].write_text(json.dumps(documents["skillflow"]), "utf-8")
    saved["status"].write_text(json.dumps(documents["status_list"]), "utf-8")
    arguments = ["verify", "--credential", str(saved["credential"]), "--keys", str(saved["keys"])]
    offline = [*arguments, "--status-list", str(saved["status"]), "--offline"]
    result = skillflow(*offline)
    assert result.returncode == 0, result.stdout
    assert "signature    valid" in result.stdout and "status       valid" in result.stdout

    revoked = await api.post(
        f"/certificates/{number}/revocation",
        headers=auth(Role.REGULATOR),
        json={"reason": "altered scores found by the audit"},
    )
    assert revoked.status_code == 200, revoked.text
    documents = await published(stack, api, credential)
    assert check_credential(credential, key_set, documents["status_list"]).status == "revoked"
    assert independent(credential, documents, tmp_path) == {
        "verified": True,
        "revoked": True,
        "error": None,
    }
    saved["status"].write_text(json.dumps(documents["status_list"]), "utf-8")
    result = skillflow(*offline)
    assert result.returncode == 1 and "status       revoked" in result.stdout, result.stdout
    # Without a status list at hand, offline says so rather than "valid".
    result = skillflow(*arguments, "--offline")
    assert result.returncode == 1 and "not_checked" in result.stdout, result.stdout

    # Rotation: a new key signs; the credential signed before still verifies.
    rotated = await api.post("/credentials/keys", headers=auth(Role.OPERATOR))
    assert rotated.status_code == 200, rotated.text
    new_key_id = rotated.json()["key_id"]
    fresh = (await api.post(path, json={"holder_name": HOLDER})).json()
    assert fresh["proof"]["verificationMethod"].endswith(f"#{new_key_id}")
    documents = await published(stack, api, credential)
    key_set = KeySet.from_did_document(documents["skillflow"])
    assert check_credential(credential, key_set, documents["status_list"]).signature == "valid"
    assert independent(fresh, documents, tmp_path)["revoked"] is True
    assert independent(credential, documents, tmp_path)["verified"] is True


async def test_imported_certificate_has_no_signed_credential(
    api: httpx.AsyncClient, auth: Auth
) -> None:
    number = older_number()
    [row] = await import_prior(api, auth, prior(new_id_number(), number, 4, today()))
    assert row["status"] == "imported"
    response = await api.post(f"/certificates/{number}/credential", json={"holder_name": "赵建国"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "credential.imported"
    assert (await api.get("/bodies/no-such-body/did.json")).status_code == 404
    assert (await api.get("/credentials/status/no-such-body/0")).status_code == 404
