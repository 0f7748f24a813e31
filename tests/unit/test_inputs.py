"""The input types (scores, reasons, date-times) and the one CSV reader."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from api.csv_import import read_csv
from policy.errors import RuleViolation, RuleViolations
from policy.rule_ids import Rule
from schemas.application import ReviewDecision, ScoreCorrection, ScoreEntry
from schemas.certificate import RevocationRequest
from schemas.evaluation_body import BodyStatusChange, QualityReview
from schemas.inputs import IsoDateTime, number_cell


class Since(BaseModel):
    since: IsoDateTime


def rules(exc: ValidationError) -> list[str]:
    return [str(e["type"]) for e in exc.errors()]


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("NaN", "finite_number"),
        ("Infinity", "finite_number"),
        ("-Infinity", "finite_number"),
        ("1e400", "finite_number"),
        ("true", "float_type"),
        ('"80"', "float_type"),
        ("null", "float_type"),
    ],
)
def test_a_score_is_a_finite_number_not_a_boolean_or_text(raw: str, rule: str) -> None:
    # As the API reads a body: Python's json takes NaN, Infinity and 1e400 (as inf).
    value = json.loads(f'{{"component": "theory", "score": {raw}, "examiner_id": "E1"}}')
    with pytest.raises(ValidationError) as caught:
        ScoreEntry.model_validate(value)
    assert rules(caught.value) == [rule]


def test_a_score_takes_whole_and_decimal_numbers_the_policy_range_is_the_workflows() -> None:
    assert ScoreEntry(component="theory", score=80, examiner_id="E1").score == 80.0
    assert ScoreEntry(component="theory", score=59.5, examiner_id="E1").score == 59.5
    # 101 is a number; the assessment policy (0-100) refuses it as score.range.
    assert ScoreEntry(component="theory", score=101, examiner_id="E1").score == 101.0


def test_a_correction_takes_the_same_score_type() -> None:
    fields: dict[str, Any] = {
        "correction_id": "c1",
        "component": "theory",
        "reason": "recount",
        "corrected_by": "wang",
    }
    for bad in (float("nan"), float("inf"), True):
        with pytest.raises(ValidationError):
            ScoreCorrection(**fields, score=bad)


@pytest.mark.parametrize(
    "build",
    [
        lambda reason: ScoreCorrection(
            correction_id="c1", component="theory", score=1, reason=reason, corrected_by="w"
        ),
        lambda reason: BodyStatusChange(action="suspend", reason=reason),
        lambda reason: QualityReview(
            certificate_number="S" + "0" * 21, passed=False, finding=reason
        ),
        lambda reason: RevocationRequest(certificate_number="S" + "0" * 21, reason=reason),
    ],
)
def test_a_reason_of_only_spaces_is_no_reason(build: Any) -> None:
    for blank in ("", "   ", "\t\n", "\u3000"):
        with pytest.raises(ValidationError) as caught:
            build(blank)
        assert rules(caught.value) == ["string_too_short"]
    assert build("  a real reason  ").model_dump()  # kept, trimmed


def test_an_optional_reason_is_trimmed_and_bounded() -> None:
    assert ReviewDecision(approve=False, reason="  late  ").reason == "late"
    assert ReviewDecision(approve=True).reason == ""
    with pytest.raises(ValidationError):
        ReviewDecision(approve=False, reason="x" * 501)


@pytest.mark.parametrize("value", ["0.5", "1700000000", "yesterday", "2025-13", 0.5, True])
def test_a_date_time_is_iso_8601_only(value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        Since(since=value)
    assert rules(caught.value) == ["datetime_iso"]


def test_an_iso_date_time_is_read_and_far_years_are_refused() -> None:
    assert Since(since="2025-03-01T08:00:00+08:00").since.utcoffset() is not None
    assert Since(since="2025-03-01").since == datetime(2025, 3, 1)
    with pytest.raises(ValidationError) as caught:
        Since(since="9999-12-31T23:59:59-14:00")
    assert rules(caught.value) == ["datetime_range"]


# --- the CSV reader ----------------------------------------------------------------------


def read(body: bytes) -> list[tuple[int, dict[str, str], str | None]]:
    return [
        (row.number, row.cells, row.error.rule if row.error else None)
        for row in read_csv(body, {"a", "b"})
    ]


def test_csv_reads_lf_crlf_and_a_byte_order_mark() -> None:
    expected = [(1, {"a": "1", "b": "2"}, None), (2, {"a": "3", "b": ""}, None)]
    assert read(b"a,b\n1,2\n3\n") == expected
    assert read(b"a,b\r\n1,2\r\n3\r\n") == expected
    assert read(b"\xef\xbb\xbfa,b\n 1 , 2\n3,\n") == expected


@pytest.mark.parametrize(
    ("bad_row", "rule"),
    [
        (b"1\r2,x", Rule.CSV_BARE_CARRIAGE_RETURN),
        (b'"1"x,2', Rule.CSV_BROKEN_QUOTE),
        (b"1\x00,2", Rule.CSV_NUL),
        (b"\xff\xfe1,2", Rule.CSV_ENCODING),
        (b"\xd5\xc5\xc8\xfd,2", Rule.CSV_ENCODING),  # 张三 in GBK, not UTF-8
    ],
)
def test_a_row_the_csv_rules_cannot_read_is_rejected_alone(bad_row: bytes, rule: str) -> None:
    rows = read(b"a,b\n1,2\n" + bad_row + b"\n5,6\n")
    assert rows == [
        (1, {"a": "1", "b": "2"}, None),
        (2, {}, rule),
        (3, {"a": "5", "b": "6"}, None),
    ]


def test_an_unclosed_quote_is_reported_not_swallowed() -> None:
    # Unclosed, the quote would take every following line into one cell.
    assert read(b'a,b\n1,2\n"3,4\n5,6\n') == [
        (1, {"a": "1", "b": "2"}, None),
        (2, {}, Rule.CSV_UNCLOSED_QUOTE),
    ]


def test_a_quoted_cell_may_hold_a_line_break() -> None:
    assert read(b'a,b\n"x\r\ny",2\n') == [(1, {"a": "x\r\ny", "b": "2"}, None)]


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (b"a\n1\n", Rule.CSV_MISSING_COLUMNS),
        (b"", Rule.CSV_MISSING_COLUMNS),
        (b'"a,b\n', Rule.CSV_UNCLOSED_QUOTE),
        (b"a,b\x00\n1,2\n", Rule.CSV_NUL),
        (b"a,\xffb\n1,2\n", Rule.CSV_ENCODING),
    ],
)
def test_a_bad_header_refuses_the_file(body: bytes, rule: str) -> None:
    with pytest.raises((RuleViolation, RuleViolations)) as caught:
        read_csv(body, {"a", "b"})
    error = caught.value
    found = (
        [v.rule for v in error.violations] if isinstance(error, RuleViolations) else [error.rule]
    )
    assert found == [rule]


def test_no_cell_value_appears_in_a_csv_error() -> None:
    secret = "110101199003074578"
    rows = read_csv(f"a,b\n{secret}\r1,2\n{secret}\x00,2\n".encode(), {"a"})
    assert all(row.error is not None and secret not in row.error.message for row in rows)


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("80", 80),
        ("-3", -3),
        ("59.5", 59.5),
        (".5", 0.5),
        ("1e2", 100.0),
        ("nan", "nan"),
        ("inf", "inf"),
        ("true", "true"),
        ("1_000", "1_000"),
        ("١٢", "١٢"),  # Arabic-Indic digits: int() would take them
        ("", ""),
    ],
)
def test_a_number_cell_is_plain_ascii_digits(cell: str, value: object) -> None:
    assert number_cell(cell) == value and type(number_cell(cell)) is type(value)
