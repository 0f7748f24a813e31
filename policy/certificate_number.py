"""Skill-level certificate numbers: 22 characters, ``^[YS]\\d{21}$``.

Layout (1-based positions): 1 body type (Y employer, S social evaluation organisation);
2-5 body code ("0000" for province-filed bodies); 6-7 province code (GB/T 2260);
8-13 site serial; 14-15 issue year mod 100; 16 level (1-5); 17-22 serial, unique per
body and year.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from policy.catalogue import NATIONAL_LEVELS
from policy.errors import RuleViolation
from policy.regions import MAINLAND_PROVINCES
from policy.rule_ids import Rule

BodyType = Literal["Y", "S"]

_SHAPE: Final = re.compile(r"[YS]\d{21}")
_MAX_SERIAL: Final = 999_999


class CertifiedLevel(BaseModel):
    """A certificate as the incentive rules see it: its number and what it certifies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    certificate_number: str
    occupation_code: str
    level: int = Field(ge=1, le=5)


class IssuedCertificate(CertifiedLevel):
    """A certificate that counts from its issue date (one a worker holds)."""

    issued_on: date


class CertificateNumberParts(BaseModel):
    """The fields of a certificate number; ``format_certificate_number`` checks them.

    The model only types the fields, so that a bad part is reported as a RuleViolation
    naming that part rather than as a validation error.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    body_type: str = Field(description="Y employer, S social evaluation organisation")
    body_code: str = Field(description="4 digits; 0000 for province-filed bodies")
    province_code: str = Field(description="2-digit GB/T 2260 province code, e.g. 21 Liaoning")
    site_serial: str = Field(description="6 digits")
    issue_year_yy: int = Field(description="Issue year mod 100")
    level: int = Field(description="Skill level 1-5")
    serial: int = Field(description="1-999999, unique per body and year")


def format_certificate_number(parts: CertificateNumberParts) -> str:
    faults = _part_faults(parts)
    if faults:
        part, rule, message = faults[0]
        raise RuleViolation(part, rule, message)
    return (
        f"{parts.body_type}{parts.body_code}{parts.province_code}{parts.site_serial}"
        f"{parts.issue_year_yy:02d}{parts.level}{parts.serial:06d}"
    )


def parse_certificate_number(value: str) -> CertificateNumberParts:
    number = value.strip()
    if not _SHAPE.fullmatch(number) or not number.isascii():
        raise RuleViolation(
            "certificate_number",
            Rule.CERTIFICATE_NUMBER_FORMAT,
            "a certificate number is Y or S followed by 21 digits",
        )
    parts = CertificateNumberParts(
        body_type=number[0],
        body_code=number[1:5],
        province_code=number[5:7],
        site_serial=number[7:13],
        issue_year_yy=int(number[13:15]),
        level=int(number[15]),
        serial=int(number[16:22]),
    )
    faults = _part_faults(parts)
    if faults:
        _part, rule, message = faults[0]
        raise RuleViolation("certificate_number", rule, message)
    return parts


def _part_faults(parts: CertificateNumberParts) -> list[tuple[str, str, str]]:
    """(part, rule, message) for every part that breaks a rule, in number order."""
    faults: list[tuple[str, str, str]] = []
    if parts.body_type not in ("Y", "S"):
        faults.append(("body_type", Rule.CERTIFICATE_NUMBER_BODY_TYPE, "body type must be Y or S"))
    if not _digits(parts.body_code, 4):
        faults.append(
            ("body_code", Rule.CERTIFICATE_NUMBER_BODY_CODE, "body code must be 4 digits")
        )
    if parts.province_code not in MAINLAND_PROVINCES:
        faults.append(
            (
                "province_code",
                Rule.CERTIFICATE_NUMBER_PROVINCE_CODE,
                "province code must be a GB/T 2260 province code",
            )
        )
    if not _digits(parts.site_serial, 6):
        faults.append(
            ("site_serial", Rule.CERTIFICATE_NUMBER_SITE_SERIAL, "site serial must be 6 digits")
        )
    if not 0 <= parts.issue_year_yy <= 99:
        faults.append(
            ("issue_year_yy", Rule.CERTIFICATE_NUMBER_ISSUE_YEAR, "issue year must be 00-99")
        )
    if parts.level not in NATIONAL_LEVELS:
        faults.append(("level", Rule.CERTIFICATE_NUMBER_LEVEL, "level must be 1-5"))
    if not 1 <= parts.serial <= _MAX_SERIAL:
        faults.append(("serial", Rule.CERTIFICATE_NUMBER_SERIAL, f"serial must be 1-{_MAX_SERIAL}"))
    return faults


def _digits(text: str, count: int) -> bool:
    return len(text) == count and text.isascii() and text.isdigit()


# Certificates from before SkillFlow (other provinces, other systems, the old vocational-
# qualification certificates) carry numbers in older forms too: digits and Latin letters,
# sometimes grouped by hyphens or slashes. They are kept exactly as written.
_PRIOR_SHAPE: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z/-]{6,38}[0-9A-Za-z]")
_PRIOR_MIN_DIGITS: Final = 6


def prior_certificate_number(value: str) -> str:
    """A prior certificate's number as written (surrounding blanks dropped): the 22-character
    national form, checked part by part, or an older form of 8-40 digits and letters."""
    number = value.strip()
    if _SHAPE.fullmatch(number) and number.isascii():
        parse_certificate_number(number)
        return number
    if (
        not number.isascii()
        or _PRIOR_SHAPE.fullmatch(number) is None
        or sum(ch.isdigit() for ch in number) < _PRIOR_MIN_DIGITS
    ):
        raise RuleViolation(
            "certificate_number",
            Rule.CERTIFICATE_NUMBER_PRIOR_FORMAT,
            "a prior certificate number is the 22-character national form or an older form "
            f"of 8-40 letters and digits (at least {_PRIOR_MIN_DIGITS} digits; - and / may group them)",
        )
    return number
