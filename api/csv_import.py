"""One reader for every CSV upload (registrations, scores, insurance records, training
subsidies).

A file whose header is unreadable or lacks a column is refused whole (422). Past the
header, a row the CSV rules cannot read (a bare carriage return, a broken quote, a NUL,
bytes that are not UTF-8) becomes a rejected row with its rule, and the rows around it are
still read: a centre fixes the rows named, not the whole file. Cell values never appear in
a message: a row may carry an ID number.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Body

from policy.errors import RuleViolation, RuleViolations, Violation
from policy.rule_ids import Rule

CSV_MEDIA_TYPE = "text/csv"
# What FastAPI documents for a CSV body (bytes: the reader decodes, row by row).
CSV_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
    }
}
# A CSV request body, as every CSV route takes it.
CsvFile = Annotated[bytes, Body(media_type=CSV_MEDIA_TYPE)]
_BOM = "\ufeff"
# Undecodable bytes survive decoding as lone surrogates (errors="surrogateescape"), so a
# bad byte spoils its own row only.
_UNDECODED = re.compile(r"[\udc80-\udcff]")


@dataclass(frozen=True)
class CsvRow:
    """One data row: its 1-based number (the header not counted), its cells by column
    (stripped; a missing cell is empty), or why it could not be read."""

    number: int
    cells: dict[str, str] = field(default_factory=dict)
    error: Violation | None = None


def _unreadable(message: str) -> Violation:
    if "new-line character seen in unquoted field" in message:
        return Violation(
            field="csv",
            rule=Rule.CSV_BARE_CARRIAGE_RETURN,
            message="a carriage return outside quotes: end lines with LF or CRLF",
        )
    if "unexpected end of data" in message:
        return Violation(
            field="csv", rule=Rule.CSV_UNCLOSED_QUOTE, message="a quoted cell is never closed"
        )
    if "expected after" in message:
        return Violation(
            field="csv",
            rule=Rule.CSV_BROKEN_QUOTE,
            message='a quoted cell must end at a comma or the line end (write "" for a quote)',
        )
    if "field larger than field limit" in message:
        return Violation(field="csv", rule=Rule.CSV_CELL_TOO_LONG, message="a cell is too long")
    return Violation(field="csv", rule=Rule.CSV_UNREADABLE, message="the row is not valid CSV")


def _bad_text(values: Collection[str]) -> Violation | None:
    for value in values:
        if "\x00" in value:
            return Violation(field="csv", rule=Rule.CSV_NUL, message="a cell holds a NUL character")
        if _UNDECODED.search(value):
            return Violation(
                field="csv",
                rule=Rule.CSV_ENCODING,
                message="the row is not UTF-8 text (save the file as CSV UTF-8)",
            )
    return None


def read_csv(body: bytes | str, required: Collection[str]) -> list[CsvRow]:
    """The rows of a CSV upload, each readable or carrying the rule it broke."""
    text = body.decode("utf-8", errors="surrogateescape") if isinstance(body, bytes) else body
    # Lines split on LF only: a bare CR is then the csv module's error, not a row break.
    reader = csv.reader(io.StringIO(text.removeprefix(_BOM)), strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as exc:
        raise RuleViolations([_unreadable(str(exc))]) from None
    problem = _bad_text(header)
    if problem is not None:
        raise RuleViolations([problem])
    missing = sorted(set(required) - set(header))
    if missing:
        raise RuleViolation(
            "csv", Rule.CSV_MISSING_COLUMNS, f"the header lacks column(s): {', '.join(missing)}"
        )
    rows: list[CsvRow] = []
    while True:
        line_before = reader.line_num
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rows.append(CsvRow(number=len(rows) + 1, error=_unreadable(str(exc))))
            if reader.line_num == line_before:
                break  # nothing more could be read
            continue
        if not cells:
            continue  # a blank line
        number = len(rows) + 1
        problem = _bad_text(cells)
        if problem is not None:
            rows.append(CsvRow(number=number, error=problem))
            continue
        values = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
        rows.append(CsvRow(number=number, cells={name: values.get(name, "") for name in header}))
    return rows
