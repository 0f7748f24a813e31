"""The shapes of SkillFlow's credentials: a certificate as an Open Badges 3.0
``OpenBadgeCredential`` (W3C VC data model 2.0), and a body's revocation list as a
``BitstringStatusListCredential``. Unsigned here; ``credentials.proofs`` signs them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from credentials.documents import CREDENTIALS_V2, OPEN_BADGES_V3
from credentials.keys import did_web
from credentials.status_list import LIST_LENGTH, encode_list
from policy.catalogue import NATIONAL_LEVEL_NAMES

STANDARD_FRAMEWORK: Final = "国家职业技能标准 (National Occupational Skill Standards)"
_CREDENTIAL_NAMESPACE: Final = uuid.UUID("2f0e9a54-3c1b-5d8e-9a4f-6b7c8d9e0f1a")


@dataclass(frozen=True)
class CertifiedLevel:
    """What a credential states about one issued certificate. The holder is their person
    key: never an ID number, and no name (the printed certificate carries that)."""

    certificate_number: str
    person_key: str
    body_id: str
    body_name: str
    occupation_code: str
    occupation_name: str
    level: int
    issued_on: date
    status_index: int


def body_issuer(base_url: str, body_id: str) -> str:
    """The issuing body's did:web identifier, under SkillFlow's address and keys."""
    return did_web(base_url, "bodies", body_id)


def status_list_url(base_url: str, body_id: str, list_number: int) -> str:
    return f"{base_url}/credentials/status/{body_id}/{list_number}"


def certificate_credential(facts: CertifiedLevel, base_url: str) -> dict[str, Any]:
    level_name = NATIONAL_LEVEL_NAMES[facts.level]
    list_number, index = divmod(facts.status_index, LIST_LENGTH)
    status_url = status_list_url(base_url, facts.body_id, list_number)
    standard = f"{STANDARD_FRAMEWORK}: {facts.occupation_name} ({facts.occupation_code})"
    return {
        "@context": [CREDENTIALS_V2, OPEN_BADGES_V3],
        "id": f"urn:uuid:{uuid.uuid5(_CREDENTIAL_NAMESPACE, facts.certificate_number)}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"职业技能等级证书 {facts.occupation_name} {level_name}",
        "description": f"证书编号 {facts.certificate_number}",
        "issuer": {
            "id": body_issuer(base_url, facts.body_id),
            "type": ["Profile"],
            "name": facts.body_name,
        },
        # The certificate's date, in China time: the day it was issued.
        "validFrom": f"{facts.issued_on.isoformat()}T00:00:00+08:00",
        "credentialSubject": {
            "id": f"urn:skillflow:person:{facts.person_key}",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": f"{base_url}/occupations/{facts.occupation_code}/levels/{facts.level}",
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": f"{facts.occupation_name} {level_name}",
                "description": (
                    f"Vocational skill level {facts.level} ({level_name}) in "
                    f"{facts.occupation_name}, occupation {facts.occupation_code}"
                ),
                "criteria": {"narrative": f"Assessed against the {standard}, level {facts.level}."},
                "alignment": [
                    {
                        "type": ["Alignment"],
                        "targetName": f"{facts.occupation_name} {level_name}",
                        "targetUrl": f"{base_url}/occupations/{facts.occupation_code}",
                        "targetCode": f"{facts.occupation_code}/{facts.level}",
                        "targetFramework": STANDARD_FRAMEWORK,
                    }
                ],
            },
        },
        "credentialStatus": {
            "id": f"{status_url}#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(index),
            "statusListCredential": status_url,
        },
    }


def status_list_credential(
    base_url: str, body_id: str, list_number: int, revoked: list[int], now: datetime
) -> dict[str, Any]:
    """The body's revocation list ``list_number``: ``revoked`` are indices within it."""
    url = status_list_url(base_url, body_id, list_number)
    return {
        "@context": [CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": body_issuer(base_url, body_id),
        "validFrom": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_list(revoked),
        },
    }
