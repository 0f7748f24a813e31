"""Value types for what callers type in: scores, reasons, times.

One definition each, used by the API's request models, the workflow commands built from
them and the CSV importers, so a NaN score or a reason of spaces is refused the same way
whichever door it comes through, with a named rule (``request.<type>``) and before it
reaches a workflow or PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

# A score is a finite number, never a boolean (``true`` is not 1 mark) nor a string. Its
# range (0-100 today) is the assessment policy's (policy/data), checked by the workflow
# with the rule score.range; this type only bounds it to what a number can sensibly be.
Score = Annotated[
    float,
    Field(strict=True, allow_inf_nan=False, ge=-1_000_000, le=1_000_000),
]

# Reasons and findings are read by people (audit trails, notices, the worker's archive):
# surrounding whitespace is dropped, and one of only spaces is no reason.
REASON_MAX_LENGTH: Final = 1000
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=REASON_MAX_LENGTH)
]
# Where a reason may be left out (an approval), a given one is still trimmed.
OptionalReason = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=REASON_MAX_LENGTH)
]

# Whole numbers that end in a PostgreSQL bigint column or parameter.
BIGINT_MAX: Final = 2**63 - 1

_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?")
_ISO_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})?")


def _iso_date_time(value: Any) -> Any:
    """Only an ISO 8601 text (or a datetime): pydantic would otherwise read ``0.5`` as
    half a second after 1970."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_iso", "must be an ISO 8601 date-time")
    text = value.strip()
    stem = _ISO_DATE_TIME.match(text)
    if stem is None or not _ISO_OFFSET.fullmatch(text[stem.end() :]):
        raise PydanticCustomError(
            "datetime_iso", "must be an ISO 8601 date-time, e.g. 2025-03-01T08:00:00+08:00"
        )
    year = int(text[:4])
    # Far years overflow when shifted to UTC for PostgreSQL.
    if not 1900 <= year <= 9000:
        raise PydanticCustomError("datetime_range", "the year must be from 1900 to 9000")
    return text


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_date_time)]


_INTEGER: Final = re.compile(r"[+-]?[0-9]+")
_DECIMAL: Final = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def number_cell(cell: str) -> int | float | str:
    """A cell as the number it spells in plain ASCII digits, else the text itself (which a
    strict number field then refuses): ``nan``, ``inf``, ``true`` or ``1_000`` are no
    numbers here."""
    if _INTEGER.fullmatch(cell):
        return int(cell)
    if _DECIMAL.fullmatch(cell):
        return float(cell)
    return cell


class RequestBody(BaseModel):
    """A request body: an unknown field is refused by name, since a misspelt optional field
    would otherwise be dropped without a word."""

    model_config = ConfigDict(extra="forbid")
