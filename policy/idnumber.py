"""Resident ID numbers (GB 11643-1999): validation, facts, keyed hashing and masking.

The ID number is personal data. Nothing in this module puts it, or the birth date it
contains, into an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from policy.errors import RuleViolation
from policy.regions import ID_NUMBER_PROVINCES
from policy.rule_ids import Rule

Sex = Literal["M", "F"]

FIELD: Final = "id_number"
_SHAPE: Final = re.compile(r"\d{17}[\dX]")
_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS: Final = "10X98765432"
_EARLIEST_BIRTH_YEAR: Final = 1900
# Common two-character surnames, so a masked name keeps the whole family name.
_COMPOUND_SURNAMES: Final = frozenset(
    {
        "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐",
        "司徒", "夏侯", "长孙", "宇文", "轩辕", "澹台", "端木", "独孤", "南宫", "西门",
    }
)  # fmt: skip


class IdNumberFacts(BaseModel):
    """What a valid ID number tells about its holder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    birth_date: date
    sex: Sex
    region_code: str = Field(pattern=r"^\d{6}$", description="GB/T 2260 code at issue")


def normalise_id_number(value: str) -> str:
    """Trim spaces and upper-case a trailing x, the two differences people type."""
    return value.strip().upper()


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise RuleViolation(
            FIELD, Rule.ID_NUMBER_FORMAT, "the first 17 characters of an ID number must be digits"
        )
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def validate_id_number(value: str, *, today: date, min_age: int) -> IdNumberFacts:
    """Check an ID number and return the facts it carries.

    Raises RuleViolation (field "id_number") for the first rule broken, in the order
    shape, check character, region, birth date, minimum age.
    """
    number = normalise_id_number(value)
    if not _SHAPE.fullmatch(number) or not number.isascii():
        raise RuleViolation(
            FIELD,
            Rule.ID_NUMBER_FORMAT,
            "an ID number must be 18 characters: 17 digits then a digit or X",
        )
    if check_character(number[:17]) != number[17]:
        raise RuleViolation(
            FIELD,
            Rule.ID_NUMBER_CHECK_CHARACTER,
            "the last character of the ID number does not match its ISO 7064 MOD 11-2 check",
        )
    if number[:2] not in ID_NUMBER_PROVINCES:
        raise RuleViolation(
            FIELD,
            Rule.ID_NUMBER_REGION,
            "the first two digits of the ID number are not a GB/T 2260 province code",
        )
    birth_date = _birth_date(number)
    if birth_date > today:
        raise RuleViolation(
            FIELD, Rule.ID_NUMBER_BIRTH_DATE, "the birth date in the ID number is in the future"
        )
    if age_on(birth_date, today) < min_age:
        raise RuleViolation(
            FIELD,
            Rule.ID_NUMBER_MIN_AGE,
            f"the holder of the ID number is younger than the minimum age of {min_age}",
        )
    sex: Sex = "M" if int(number[16]) % 2 == 1 else "F"
    return IdNumberFacts(birth_date=birth_date, sex=sex, region_code=number[:6])


def _birth_date(number: str) -> date:
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    try:
        birth_date = date(year, month, day)
    except ValueError:
        raise RuleViolation(
            FIELD,
            Rule.ID_NUMBER_BIRTH_DATE,
            "the birth date in characters 7-14 of the ID number is not a real calendar date",
        ) from None
    if birth_date.year < _EARLIEST_BIRTH_YEAR:
        raise RuleViolation(
            FIELD,
            Rule.ID_NUMBER_BIRTH_DATE,
            f"the birth date in the ID number is before {_EARLIEST_BIRTH_YEAR}",
        )
    return birth_date


def age_on(birth_date: date, today: date) -> int:
    """Completed years; someone born on 29 February turns a year older on 1 March."""
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - int(before_birthday)


def make_id_number(region_code: str, birth_date: date, sequence: int, sex: Sex) -> str:
    """Build a valid ID number: for demos and tests, never for real people."""
    if not re.fullmatch(r"\d{6}", region_code) or region_code[:2] not in ID_NUMBER_PROVINCES:
        raise RuleViolation(
            "region_code", Rule.ID_NUMBER_REGION, "region code must be 6 digits of GB/T 2260"
        )
    if not 0 <= sequence <= 99:
        raise RuleViolation("sequence", Rule.ID_NUMBER_SEQUENCE, "sequence must be 0-99")
    if birth_date.year < _EARLIEST_BIRTH_YEAR:
        raise RuleViolation(
            "birth_date",
            Rule.ID_NUMBER_BIRTH_DATE,
            f"birth date must be in {_EARLIEST_BIRTH_YEAR} or later",
        )
    # The 17th digit is odd for men and even for women; 1 and 2 keep it simple.
    sex_digit = "1" if sex == "M" else "2"
    first17 = f"{region_code}{birth_date:%Y%m%d}{sequence:02d}{sex_digit}"
    return first17 + check_character(first17)


def person_key(id_number: str, secret: bytes) -> str:
    """Keyed hash that identifies a worker in events and search without the ID number."""
    if not secret:
        raise ValueError("person_key needs a non-empty secret")
    normalised = normalise_id_number(id_number).encode("ascii", errors="strict")
    return hmac.new(secret, normalised, hashlib.sha256).hexdigest()


def mask_id_number(value: str) -> str:
    """Show the first 4 and last 2 characters, e.g. "1101************2X".

    The first 4 give province and city, enough for an operator to tell which office a
    record belongs to, without the county. The last 2 let a person recognise their own
    record in a list next to a masked name. The 8-digit birth date and the county are
    always hidden. Anything that is not 18 characters is masked entirely, since it
    cannot be known which parts are safe to show.
    """
    number = normalise_id_number(value)
    if len(number) != 18:
        return "*" * 18
    return number[:4] + "*" * 12 + number[-2:]


def mask_name(name: str) -> str:
    """Keep the family name, star the rest: "张三" -> "张*", "欧阳娜娜" -> "欧阳**"."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    keep = 2 if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else 1
    return name[:keep] + "*" * (len(name) - keep)
