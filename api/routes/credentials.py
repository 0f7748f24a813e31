"""Signed credentials: a certificate holder's Verifiable Credential, the issuing bodies'
revocation lists, and the did:web documents that publish SkillFlow's issuer keys.

A credential names its holder by person key, so it is handed out on the same terms as a
certificate's holder details: the number together with the holder's name. The name travels
in the request body (a POST), never in the address, so no access log records it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.access import Operator
from api.errors import RATE_LIMITED_RESPONSES
from api.rate_limit import AnonymousCall
from api.services import ApiServices, Services
from api.verification import holder_name_matches, holder_name_on_record
from api.views import DidDocument, OpenBadgeCredential, StatusListCredential
from credentials.issuance import CredentialIssuer
from credentials.keys import add_key
from policy.catalogue import get_occupation
from policy.certificate_number import parse_certificate_number
from policy.errors import NotFound, RuleViolation
from policy.rule_ids import Rule
from printing.certificate import PrintedCertificate, certificate_pdf
from schemas.inputs import RequestBody
from store import certification, holders

router = APIRouter(tags=["credentials"])

BodyIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


def issuer_of(services: ApiServices) -> CredentialIssuer:
    return CredentialIssuer(
        base_url=services.settings.credential_base_url,
        key_ring=services.settings.key_ring,
    )


class HolderProof(RequestBody):
    """The holder's name, as registered: with the number, what proves a holder's request."""

    holder_name: str = Field(min_length=1, max_length=50)


class SigningKey(BaseModel):
    key_id: str
    did: str


@router.post("/credentials/keys")
async def rotate_signing_key(services: Services, _: Operator) -> SigningKey:
    """A new signing key; the previous one retires but stays published, so everything it
    signed still verifies."""
    issuer = issuer_of(services)
    async with services.pool.acquire() as conn, conn.transaction():
        key = await add_key(conn, issuer.key_ring)
    return SigningKey(key_id=key.key_id, did=issuer.did)


@router.get("/.well-known/did.json")
async def skillflow_did(services: Services) -> DidDocument:
    """SkillFlow's did:web document: every issuer key, retired ones too (the key set to save
    for offline verification)."""
    async with services.pool.acquire() as conn:
        return DidDocument.model_validate(await issuer_of(services).did_document(conn))


@router.get("/bodies/{body_id}/did.json")
async def body_did(body_id: BodyIdPath, services: Services) -> DidDocument:
    """An evaluation body's did:web document: the body issues, under SkillFlow's keys."""
    async with services.pool.acquire() as conn:
        if await certification.body_status(conn, body_id) is None:
            raise NotFound("no body with this id")
        return DidDocument.model_validate(await issuer_of(services).did_document(conn, body_id))


@router.get("/credentials/status/{body_id}/{list_number}")
async def status_list(
    body_id: BodyIdPath,
    list_number: Annotated[int, Path(ge=0, le=10_000)],
    services: Services,
) -> StatusListCredential:
    """A body's revocation list (Bitstring Status List), signed when fetched."""
    async with services.pool.acquire() as conn:
        document = await issuer_of(services).status_list(conn, body_id, list_number)
    if document is None:
        raise NotFound("no body with this id")
    return StatusListCredential.model_validate(document)


@router.post(
    "/certificates/{certificate_number}/credential",
    dependencies=[AnonymousCall],
    responses=RATE_LIMITED_RESPONSES,
)
async def certificate_credential(
    certificate_number: str,
    holder: HolderProof,
    services: Services,
) -> OpenBadgeCredential:
    """The certificate as a signed Open Badges 3.0 credential for its holder to carry: the
    number and the holder's name together, as for the holder details of a verification."""
    number = certificate_number.strip().upper()
    async with services.pool.acquire() as conn:
        if await certification.prior_certificate(conn, certificate_number.strip()):
            raise RuleViolation(
                "certificate_number",
                Rule.CREDENTIAL_IMPORTED,
                "an imported certificate was issued elsewhere: SkillFlow signs no credential for it",
            )
        parse_certificate_number(number)
        if not await _holder_matches(conn, services, number, holder.holder_name):
            # The same answer for an unknown number and a wrong name: neither is confirmed.
            raise NotFound("no certificate with this number and holder name")
        credential = await issuer_of(services).certificate_credential(conn, number)
    if credential is None:
        raise NotFound("no certificate with this number and holder name")
    return OpenBadgeCredential.model_validate(credential)


PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
}


@router.post(
    "/certificates/{certificate_number}/certificate.pdf",
    response_class=Response,
    responses=PDF_RESPONSE | RATE_LIMITED_RESPONSES,
    dependencies=[AnonymousCall],
)
async def printable_certificate(
    certificate_number: str,
    holder: HolderProof,
    services: Services,
) -> Response:
    """The certificate to print (one A4 page, Chinese text) with a QR code that opens its
    public verification; the number and the holder's name together, as for the credential."""
    number = certificate_number.strip().upper()
    parse_certificate_number(number)
    async with services.pool.acquire() as conn:
        if not await _holder_matches(conn, services, number, holder.holder_name):
            raise NotFound("no certificate with this number and holder name")
        row = await certification.issued_certificate(conn, number)
        full = await holders.holder_name(
            conn, services.settings.key_ring, certificate_number=number
        )
    if row is None:
        raise NotFound("no certificate with this number and holder name")
    base = services.settings.credential_base_url
    pdf = certificate_pdf(
        PrintedCertificate(
            certificate_number=number,
            holder_name=full or holder.holder_name.strip(),
            occupation_code=row["occupation_code"],
            occupation_name=get_occupation(row["occupation_code"]).name,
            level=row["level"],
            body_name=row["body_name"],
            issued_on=row["issued_on"],
            verification_url=f"{base}/certificates/{number}",
            revoked=row["status"] == "revoked",
        )
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{number}.pdf"'},
    )


async def _holder_matches(conn: Any, services: ApiServices, number: str, holder_name: str) -> bool:
    # The one comparison every holder check uses (api/verification.py): the full name
    # where SkillFlow has it, else the masked name a promotion's certificate keeps.
    on_record = await holder_name_on_record(conn, services.settings.key_ring, number)
    return on_record is not None and holder_name_matches(holder_name, on_record)
