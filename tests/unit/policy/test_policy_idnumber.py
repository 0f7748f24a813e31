from datetime import date

import pytest

from policy.errors import RuleViolation
from policy.idnumber import (
    age_on,
    check_character,
    make_id_number,
    mask_id_number,
    mask_name,
    normalise_id_number,
    person_key,
    validate_id_number,
)
from policy.rule_ids import Rule

KNOWN_VALID = "11010519491231002X"
TODAY = date(2025, 6, 1)


def _rejected(value: str, *, min_age: int = 16, today: date = TODAY) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        validate_id_number(value, today=today, min_age=min_age)
    error = caught.value
    assert error.field == "id_number"
    # Personal data never reaches a message that may be logged.
    number = value.strip().upper()
    if len(number) >= 14:
        assert number not in str(error)
        assert number[:17] not in str(error)
        assert number[6:14] not in str(error)
    return error


def test_known_valid_number_gives_its_facts() -> None:
    facts = validate_id_number(KNOWN_VALID, today=TODAY, min_age=16)
    assert facts.birth_date == date(1949, 12, 31)
    assert facts.sex == "F"
    assert facts.region_code == "110105"


def test_lowercase_x_and_spaces_are_normalised() -> None:
    assert normalise_id_number(" 11010519491231002x ") == KNOWN_VALID
    assert validate_id_number("11010519491231002x", today=TODAY, min_age=16).sex == "F"


def test_check_character_follows_iso_7064_mod_11_2() -> None:
    assert check_character("11010519491231002") == "X"
    first17 = "11010519491231002"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    remainder = sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11
    assert "10X98765432"[remainder] == "X"
    with pytest.raises(RuleViolation, match=r"\[id_number.format\]"):
        check_character("1101051949123100A")


@pytest.mark.parametrize(
    "value", ["1101051949123100", "11010519491231002XX", "1101051949123100AX", ""]
)
def test_wrong_shape_is_refused(value: str) -> None:
    assert _rejected(value).rule == Rule.ID_NUMBER_FORMAT


def test_wrong_check_character_is_refused() -> None:
    assert _rejected("110105194912310021").rule == Rule.ID_NUMBER_CHECK_CHARACTER


def test_unknown_province_is_refused() -> None:
    first17 = "99010519491231002"
    assert _rejected(first17 + check_character(first17)).rule == Rule.ID_NUMBER_REGION


def test_impossible_birth_date_is_refused() -> None:
    first17 = "11010519490230002"  # 30 February
    assert _rejected(first17 + check_character(first17)).rule == Rule.ID_NUMBER_BIRTH_DATE


def test_birth_date_in_the_future_is_refused() -> None:
    number = make_id_number("110105", date(2030, 1, 1), 1, "M")
    assert _rejected(number).rule == Rule.ID_NUMBER_BIRTH_DATE


def test_birth_date_before_1900_is_refused() -> None:
    first17 = "11010518991231002"
    assert _rejected(first17 + check_character(first17)).rule == Rule.ID_NUMBER_BIRTH_DATE


def test_minimum_age_is_enforced_up_to_the_birthday() -> None:
    number = make_id_number("210102", date(2009, 6, 2), 3, "M")
    assert _rejected(number, min_age=16).rule == Rule.ID_NUMBER_MIN_AGE
    facts = validate_id_number(number, today=date(2025, 6, 2), min_age=16)
    assert facts.sex == "M"


def test_leap_day_birthday_counts_from_first_of_march() -> None:
    assert age_on(date(2008, 2, 29), date(2024, 2, 28)) == 15
    assert age_on(date(2008, 2, 29), date(2024, 2, 29)) == 16
    assert age_on(date(2008, 2, 29), date(2025, 3, 1)) == 17


@pytest.mark.parametrize("sex", ["M", "F"])
def test_made_numbers_are_valid_and_carry_sex(sex: str) -> None:
    number = make_id_number("120101", date(1990, 2, 28), 42, sex)  # type: ignore[arg-type]
    assert len(number) == 18
    assert number[14:16] == "42"
    facts = validate_id_number(number, today=TODAY, min_age=16)
    assert facts.sex == sex
    assert facts.birth_date == date(1990, 2, 28)


def test_make_id_number_refuses_bad_inputs() -> None:
    with pytest.raises(RuleViolation, match=r"\[id_number.sequence\]"):
        make_id_number("110105", date(1990, 1, 1), 100, "M")
    with pytest.raises(RuleViolation, match=r"\[id_number.region\]"):
        make_id_number("1101", date(1990, 1, 1), 1, "M")


def test_person_key_is_keyed_and_ignores_case_of_x() -> None:
    secret = b"s3cret"
    key = person_key(KNOWN_VALID, secret)
    assert key == person_key("11010519491231002x", secret)
    assert len(key) == 64 and KNOWN_VALID not in key
    assert key != person_key(KNOWN_VALID, b"other")
    with pytest.raises(ValueError):
        person_key(KNOWN_VALID, b"")


def test_masking_hides_birth_date_and_county() -> None:
    masked = mask_id_number(KNOWN_VALID)
    assert masked == "1101************2X"
    assert "19491231" not in masked
    assert mask_id_number("12345") == "*" * 18


def test_mask_name_keeps_only_the_family_name() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("王小明") == "王**"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_name("欧阳") == "欧*"
    assert mask_name("李") == "*"
