"""What every activity gets from the worker: the pool, the settings, the Temporal client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from temporalio.client import Client

from skillflow.settings import Settings


@dataclass(frozen=True)
class ActivityResources:
    pool: asyncpg.Pool
    settings: Settings
    temporal: Client


def build_activities(resources: ActivityResources) -> list[Callable[..., Any]]:
    """Every activity the worker registers, bound to ``resources``."""
    activities: list[Callable[..., Any]] = []
    return activities
