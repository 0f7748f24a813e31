"""Fault drills: a real fault (a SIGKILL, a stopped server) against a running local stack,
then what the service did about it, checked in its database and printed with figures.

``skillflow drill NAME`` runs one against ``skillflow up``; ``tests/drills`` runs all six
in CI against a stack of their own. Each drill leaves the stack running and healthy.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

DRILLS: dict[str, str] = {
    "worker-kill": "SIGKILL a worker while certificates are being issued: another worker "
    "finishes each workflow; exactly one certificate and one number per candidate",
    "consumer-kill": "SIGKILL the consumers between their database commit and their offset "
    "commit: the redelivered events apply nothing twice (no double subsidy)",
    "broker-stop": "stop the broker while events are produced: the outbox holds them and "
    "drains after the restart; each consumer applies each event once",
    "postgres-restart": "SIGKILL PostgreSQL while certificates are being issued: activities, "
    "relay and consumers retry and recover; nothing is lost",
    "temporal-restart": "SIGKILL the Temporal server while certificates are being issued: "
    "the workflows continue from their histories",
    "import-kill": "SIGKILL every worker while a CSV import job decides its rows: the "
    "batches in flight are retried on the restarted workers; every row decided exactly once",
}


@dataclass
class DrillReport:
    """What a drill saw: figures to print, and the problems that make it fail."""

    name: str
    figures: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.problems

    def figure(self, key: str, label: str, value: float, unit: str = "") -> None:
        self.values[key] = value
        shown = f"{value:.1f}" if isinstance(value, float) else str(value)
        self.figures.append((label, f"{shown}{(' ' + unit) if unit else ''}"))

    def expect(self, condition: bool, problem: str) -> None:
        if not condition:
            self.problems.append(problem)


def drill_module_name(name: str) -> str:
    if name not in DRILLS:
        raise KeyError(f"no drill {name!r}: choose one of {', '.join(DRILLS)}")
    return f"skillflow.drills.{name.replace('-', '_')}"


async def run_drill(name: str, stack: object) -> DrillReport:
    """Run drill ``name`` against ``stack`` (a :class:`skillflow.drills.stack.StackHandle`)."""
    module = importlib.import_module(drill_module_name(name))
    report: DrillReport = await module.run(stack)
    return report
