import pytest
from pydantic import ValidationError

from policy.catalogue import Occupation, get_occupation, list_occupations, required_components
from policy.eligibility import load_eligibility_table
from policy.errors import RuleViolation
from policy.rule_ids import Rule


def test_catalogue_lists_real_occupations() -> None:
    codes = {occupation.code for occupation in list_occupations()}
    assert {"6-31-01-03", "6-18-02-04", "4-10-01-05"} <= codes
    assert get_occupation("6-31-01-03").name == "电工"


def test_every_occupation_uses_an_existing_eligibility_table() -> None:
    for occupation in list_occupations():
        assert load_eligibility_table(occupation.eligibility_table).version


def test_catalogue_covers_flags_the_workflows_branch_on() -> None:
    occupations = list_occupations()
    assert any(occupation.theory_before_practical for occupation in occupations)
    assert any(occupation.shortage for occupation in occupations)
    assert {occupation.eligibility_table for occupation in occupations} == {
        "national-2018",
        "alt-2020",
    }


def test_unknown_occupation_is_refused() -> None:
    with pytest.raises(RuleViolation) as caught:
        get_occupation("9-99-99-99")
    assert caught.value.field == "occupation_code"
    assert caught.value.rule == Rule.CATALOGUE_UNKNOWN_OCCUPATION


def test_unknown_occupation_message_does_not_echo_other_input() -> None:
    with pytest.raises(RuleViolation) as caught:
        get_occupation("11010519491231002X")
    assert "11010519491231002X" not in str(caught.value)


def test_levels_5_to_3_need_theory_and_practical() -> None:
    electrician = get_occupation("6-31-01-03")
    for level in (5, 4, 3):
        assert required_components(electrician, level) == ("theory", "practical")


def test_levels_2_and_1_add_the_review() -> None:
    electrician = get_occupation("6-31-01-03")
    for level in (2, 1):
        assert required_components(electrician, level) == ("theory", "practical", "review")


def test_level_not_offered_is_refused() -> None:
    with pytest.raises(RuleViolation) as caught:
        required_components(get_occupation("4-10-01-02"), 2)
    assert caught.value.rule == Rule.CATALOGUE_LEVEL_NOT_OFFERED


def _occupation(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "code": "6-31-01-03",
        "name": "电工",
        "levels": [5, 4, 3],
        "theory_before_practical": False,
        "shortage": True,
        "shortage_uplift_pct": 20,
        "eligibility_table": "national-2018",
    }
    return base | changes


def test_shortage_uplift_must_be_10_to_30_percent() -> None:
    Occupation.model_validate(_occupation())
    with pytest.raises(ValidationError):
        Occupation.model_validate(_occupation(shortage_uplift_pct=35))
    with pytest.raises(ValidationError):
        Occupation.model_validate(_occupation(shortage=False))


def test_levels_must_be_national_levels() -> None:
    with pytest.raises(ValidationError):
        Occupation.model_validate(_occupation(levels=[6]))
    with pytest.raises(ValidationError):
        Occupation.model_validate(_occupation(code="6-31-1-3"))


def test_an_occupation_may_set_its_own_components_per_level() -> None:
    occupation = Occupation.model_validate(
        _occupation(components={3: ("theory", "practical", "review")})
    )
    assert required_components(occupation, 3) == ("theory", "practical", "review")


def test_every_catalogue_level_has_its_components_from_the_data() -> None:
    for occupation in list_occupations():
        assert set(occupation.components) == set(occupation.levels)


@pytest.mark.parametrize(
    ("components", "message"),
    [
        ({1: ("theory", "practical")}, "not offered"),
        ({3: ("practical",)}, "theory and a practical"),
        ({3: ("practical", "theory")}, "in the order"),
    ],
)
def test_components_are_checked(components: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Occupation.model_validate(_occupation(components=components))
