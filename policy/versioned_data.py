"""Reading the versioned policy figures in ``policy/data/``.

Every policy module reads its files once, at import, so that a rule called inside a Temporal
workflow or an event handler never does I/O. A file that holds one version is named after
it (``2026-standard.json`` declares ``"version": "2026-standard"``), so a version is found by
its name and a copied file that was not renamed fails at import rather than shadowing another.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from importlib.resources import files
from typing import Any, Final, Protocol, TypeVar

# What a version looks like: a refusal echoes a version of this shape, and nothing else.
VERSION_SHAPE: Final = re.compile(r"[a-z0-9][a-z0-9-]*")


class Versioned(Protocol):
    @property
    def version(self) -> str: ...


_V = TypeVar("_V", bound=Versioned)


def read_policy_file(*path: str) -> Any:
    """The parsed JSON of ``policy/data/<path>``."""
    text = files("policy").joinpath("data", *path).read_text(encoding="utf-8")
    return json.loads(text)


def policy_files(folder: str) -> Iterator[tuple[str, Any]]:
    """The name and parsed JSON of every file in ``policy/data/<folder>``, in name order."""
    entries = files("policy").joinpath("data", folder).iterdir()
    for entry in sorted(entries, key=lambda e: e.name):
        if entry.name.endswith(".json"):
            yield entry.name, json.loads(entry.read_text(encoding="utf-8"))


def policy_file_names(folder: str) -> list[str]:
    """The versions in ``policy/data/<folder>`` (its file names without ``.json``), sorted."""
    entries = files("policy").joinpath("data", folder).iterdir()
    return sorted(e.name.removesuffix(".json") for e in entries if e.name.endswith(".json"))


def named_by_version(file_name: str, figures: _V) -> _V:
    """``figures`` read from ``file_name``, once the file is checked to be named after them."""
    if f"{figures.version}.json" != file_name:
        raise ValueError(f"{file_name} declares version {figures.version}")
    return figures


def read_versions(folder: str, parse: Callable[[Any], _V]) -> dict[str, _V]:
    """Every version in ``policy/data/<folder>``, by version, each file read by ``parse``."""
    found = (named_by_version(name, parse(data)) for name, data in policy_files(folder))
    return {figures.version: figures for figures in found}
