import re

import pytest
from pydantic import BaseModel

from policy.errors import RuleViolation, known_or_refused
from policy.rule_ids import Rule
from policy.versioned_data import (
    VERSION_SHAPE,
    named_by_version,
    policy_file_names,
    policy_files,
    read_versions,
)


class _Figures(BaseModel):
    version: str


def test_a_file_is_read_only_when_named_after_its_version() -> None:
    figures = _Figures(version="2026-standard")
    assert named_by_version("2026-standard.json", figures) is figures
    with pytest.raises(ValueError, match=r"copy\.json declares version 2026-standard"):
        named_by_version("copy.json", figures)


def test_every_version_of_a_folder_is_read_in_name_order() -> None:
    names = [name for name, _ in policy_files("assessment")]
    assert names == sorted(names) and names
    versions = read_versions("assessment", _Figures.model_validate)
    assert sorted(versions) == policy_file_names("assessment")
    assert all(v.version == key for key, v in versions.items())


def _look_up(key: str, shape: re.Pattern[str] = VERSION_SHAPE) -> int:
    return known_or_refused(
        {"2024-default": 1},
        key,
        field="policy_version",
        rule=Rule.POLICY_UNKNOWN_VERSION,
        message="version{key} does not exist",
        shape=shape,
    )


def test_an_unknown_key_is_refused_and_echoed_only_when_shaped_like_one() -> None:
    assert _look_up("2024-default") == 1
    with pytest.raises(RuleViolation) as shaped:
        _look_up("2023-old")
    assert shaped.value.message == "version 2023-old does not exist"
    assert (shaped.value.field, shaped.value.rule) == (
        "policy_version",
        Rule.POLICY_UNKNOWN_VERSION,
    )
    with pytest.raises(RuleViolation) as unshaped:
        _look_up("张三 11010519491231002X", shape=re.compile(r"\d{4}-[a-z]+"))
    assert unshaped.value.message == "version does not exist"
