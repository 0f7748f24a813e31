"""The rule-id catalogue: each id once, and every id the code composes is catalogued."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import get_args

import pytest

from policy.rule_ids import Rule
from schemas.certificate import IssueStatus
from schemas.evaluation_body import BodyStatusChange

ID = re.compile(r"^[a-z_]+\.[a-z_]+$")


def test_no_two_names_share_an_id() -> None:
    # An Enum silently makes a second name with the same value an alias; none may exist.
    assert len(Rule.__members__) == len(list(Rule))


def test_ids_are_dotted_lower_case() -> None:
    assert [r for r in Rule if r is not Rule.NOT_FOUND and not ID.match(r)] == []


@pytest.mark.parametrize("status", [s for s in get_args(IssueStatus) if s != "issued"])
def test_every_refused_issue_names_a_catalogued_rule(status: str) -> None:
    # Application and promotion workflows withhold a certificate under body.{status}.
    assert Rule(f"body.{status}").value == f"body.{status}"


@pytest.mark.parametrize("action", get_args(BodyStatusChange.model_fields["action"].annotation))
def test_every_refused_status_change_names_a_catalogued_rule(action: str) -> None:
    assert Rule(f"body.cannot_{action}") in Rule


@pytest.mark.parametrize("what", ["application", "session", "body"])
def test_a_command_to_a_closed_workflow_names_a_catalogued_rule(what: str) -> None:
    assert Rule(f"{what}.closed") in Rule


def test_an_uncatalogued_id_is_refused() -> None:
    with pytest.raises(ValueError):
        Rule("body.cannot_dance")


def _literal_rule_ids() -> list[str]:
    """Rule ids written as string literals where a refusal is raised, anywhere in the code."""
    raisers = {"RuleViolation", "rule_error", "Violation"}
    root = Path(__file__).resolve().parents[3]
    found = []
    for path in root.rglob("*.py"):
        if {".venv", "tests", "node_modules"} & set(path.relative_to(root).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name not in raisers:
                continue
            arguments = node.args[1:2] + [k.value for k in node.keywords if k.arg == "rule"]
            found += [
                f"{path.relative_to(root)}:{node.lineno} {a.value}"
                for a in arguments
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
    return found


def test_refusals_name_rules_from_the_catalogue_not_new_literals() -> None:
    # A literal id is a second definition the catalogue does not know; only pydantic's own
    # request.* error types stay outside it.
    uncatalogued = [
        f
        for f in _literal_rule_ids()
        if not f.split()[1].startswith("request.") and f.split()[1] not in Rule._value2member_map_
    ]
    assert uncatalogued == []
