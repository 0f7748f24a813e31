"""The processes do not depend on the API: a rule or a command reached through ``api`` from an
activity, a workflow or a consumer would live in the door instead of in its process."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROCESS_PACKAGES = ("activities", "workflows", "consumers", "store", "policy", "schemas")


def _imports_of_api(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} {name}"
                for name in names
                if name == "api" or name.startswith("api.")
            ]
    return found


@pytest.mark.parametrize("package", PROCESS_PACKAGES)
def test_a_process_package_does_not_import_the_api(package: str) -> None:
    assert _imports_of_api(package) == []


def test_the_check_sees_an_import_of_the_api() -> None:
    # The scan itself must find what it looks for, or the test above proves nothing.
    assert _imports_of_api("tests") != []
