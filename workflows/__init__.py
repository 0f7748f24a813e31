"""Temporal workflow definitions. Deterministic: no I/O, no clock but ``workflow.now()``.

Workflow modules import only the standard library, temporalio, ``schemas`` and ``policy``.
"""

from __future__ import annotations

from typing import Any

ALL_WORKFLOWS: list[type[Any]] = []
"""Every workflow class the worker runs. Each process module appends its classes here."""
