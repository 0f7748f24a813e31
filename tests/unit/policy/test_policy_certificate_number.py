import pytest

from policy.certificate_number import (
    CertificateNumberParts,
    format_certificate_number,
    parse_certificate_number,
    prior_certificate_number,
)
from policy.errors import RuleViolation
from policy.rule_ids import Rule


def _parts(**changes: object) -> CertificateNumberParts:
    base: dict[str, object] = {
        "body_type": "S",
        "body_code": "0000",
        "province_code": "21",
        "site_serial": "000123",
        "issue_year_yy": 25,
        "level": 4,
        "serial": 42,
    }
    return CertificateNumberParts.model_validate(base | changes)


def test_number_round_trips() -> None:
    number = format_certificate_number(_parts())
    assert number == "S000021000123254000042"
    assert len(number) == 22
    assert parse_certificate_number(number) == _parts()


def test_employer_number_round_trips() -> None:
    parts = _parts(body_type="Y", body_code="1203", province_code="12", issue_year_yy=5)
    assert parse_certificate_number(format_certificate_number(parts)) == parts


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"body_type": "X"}, "body_type", Rule.CERTIFICATE_NUMBER_BODY_TYPE),
        ({"body_code": "12a4"}, "body_code", Rule.CERTIFICATE_NUMBER_BODY_CODE),
        ({"body_code": "123"}, "body_code", Rule.CERTIFICATE_NUMBER_BODY_CODE),
        ({"province_code": "99"}, "province_code", Rule.CERTIFICATE_NUMBER_PROVINCE_CODE),
        ({"site_serial": "12345"}, "site_serial", Rule.CERTIFICATE_NUMBER_SITE_SERIAL),
        ({"issue_year_yy": 100}, "issue_year_yy", Rule.CERTIFICATE_NUMBER_ISSUE_YEAR),
        ({"level": 6}, "level", Rule.CERTIFICATE_NUMBER_LEVEL),
        ({"level": 0}, "level", Rule.CERTIFICATE_NUMBER_LEVEL),
        ({"serial": 0}, "serial", Rule.CERTIFICATE_NUMBER_SERIAL),
        ({"serial": 1_000_000}, "serial", Rule.CERTIFICATE_NUMBER_SERIAL),
    ],
)
def test_bad_part_is_refused_by_name(changes: dict[str, object], field: str, rule: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        format_certificate_number(_parts(**changes))
    assert (caught.value.field, caught.value.rule) == (field, rule)


def test_level_digit_6_is_refused_when_parsing() -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_certificate_number("S000021000123256000042")
    assert (caught.value.field, caught.value.rule) == (
        "certificate_number",
        Rule.CERTIFICATE_NUMBER_LEVEL,
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "S00002100012325400004",
        "S0000210001232540000421",
        "A000021000123254000042",
        "s000021000123254000042",
        "S00002100012325400004X",
    ],
)
def test_malformed_number_is_refused(value: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_certificate_number(value)
    assert caught.value.rule == Rule.CERTIFICATE_NUMBER_FORMAT


def test_serial_zero_is_refused_when_parsing() -> None:
    with pytest.raises(RuleViolation, match=r"\[certificate_number.serial\]"):
        parse_certificate_number("S000021000123254000000")


@pytest.mark.parametrize(
    "written",
    [
        "S000021000001264000015",
        "0612010000300123",
        "LN-2009-0051234",
        "1321/2008/000456",
        "zj20100034567",
    ],
)
def test_prior_numbers_are_kept_as_written(written: str) -> None:
    assert prior_certificate_number(f" {written} ") == written


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("12-34", "certificate_number.prior_format"),
        ("ABCDEFGH12", "certificate_number.prior_format"),
        ("编号0612010000300123", "certificate_number.prior_format"),
        ("-0612010000300123", "certificate_number.prior_format"),
        # The national form is checked part by part even on import: province 99 is none.
        ("S000099000001264000015", "certificate_number.province_code"),
    ],
)
def test_malformed_prior_numbers_are_refused(value: str, rule: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        prior_certificate_number(value)
    assert refused.value.rule == rule
