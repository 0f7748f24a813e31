"""``skillflow status``: the operator console's summary in the terminal.

Exits non-zero when something is unhealthy: a role not ready (or silent), PostgreSQL,
Temporal or the broker unreachable, or a partition's consumer lag above the threshold, so
cron or a probe can run it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table


def probe(url: str) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:
            body = json.loads(response.read() or b"{}")
            about = _about(body)
            checks = ", ".join(k for k, v in body.get("checks", {}).items() if v) or "ready"
            return True, f"{checks}{about}"
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read() or b"{}")
        failing = [k for k, v in body.get("checks", {}).items() if not v]
        return False, "not ready: " + (", ".join(failing) or str(exc.code))
    except OSError as exc:
        return False, f"unreachable ({getattr(exc, 'reason', exc)})"


def _about(body: dict[str, Any]) -> str:
    if "version" not in body:
        return ""
    return f" (v{body['version']}, up {body.get('uptime_seconds', 0):.0f}s)"


def fetch_summary(api: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{api}/operations/summary", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=20.0) as response:
        summary: dict[str, Any] = json.loads(response.read())
        return summary


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems


def print_status(
    addresses: dict[str, Any], *, max_lag: int = 1000, token: str | None = None
) -> bool:
    """Print the roles' health and the console summary; True when all is well."""
    console = Console()
    verdict = Verdict()
    health = addresses.get("health") or {}
    if health:
        table = Table(title=f"SkillFlow roles (stack pid {addresses.get('pid', '?')})")
        for column in ("role", "state", "detail"):
            table.add_column(column)
        for role, url in health.items():
            ok, detail = probe(url)
            if not ok:
                verdict.problems.append(f"{role} {detail}")
            table.add_row(role, "[green]ready[/green]" if ok else "[red]down[/red]", detail)
        console.print(table)
    bearer = token or (addresses.get("tokens") or {}).get("operator")
    summary: dict[str, Any] | None = None
    if bearer and addresses.get("api"):
        try:
            summary = fetch_summary(str(addresses["api"]), bearer)
        except (OSError, ValueError) as exc:
            verdict.problems.append(f"console summary unavailable ({exc})")
    if summary is not None:
        # A role probed directly above is judged by that probe, fresher than its heartbeat.
        _print_summary(console, summary, max_lag, verdict, probed=set(health))
    for label in ("api", "operator_page", "temporal_ui"):
        if addresses.get(label):
            console.print(f"  {label:<14} {addresses[label]}")
    if verdict.problems:
        console.print("[red]unhealthy:[/red] " + "; ".join(verdict.problems))
    else:
        console.print("[green]healthy[/green]")
    return verdict.healthy


def _print_summary(
    console: Console,
    summary: dict[str, Any],
    max_lag: int,
    verdict: Verdict,
    probed: set[str] | None = None,
) -> None:
    for role, state in summary["roles"].items():
        if state != "ready" and role not in (probed or set()):
            verdict.problems.append(f"{role} is {state} (heartbeat)")
    for server, ok in summary["reachability"].items():
        if not ok:
            verdict.problems.append(f"{server} unreachable")
    if summary.get("lag_error"):
        verdict.problems.append(f"lag unknown: {summary['lag_error']}")
    if summary["max_partition_lag"] > max_lag:
        verdict.problems.append(
            f"consumer lag {summary['max_partition_lag']} on a partition exceeds {max_lag}"
        )
    workflows = summary["workflows"]
    table = Table(title="Console summary", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("roles", ", ".join(f"{r} {s}" for r, s in summary["roles"].items()))
    table.add_row(
        "reach",
        ", ".join(f"{k} {'ok' if v else 'DOWN'}" for k, v in summary["reachability"].items()),
    )
    table.add_row(
        "workflows", ", ".join(f"{n} {status.lower()}" for status, n in sorted(workflows.items()))
    )
    table.add_row(
        "consumer lag",
        f"{summary['total_lag']} in all (at most {summary['max_partition_lag']} on a partition)",
    )
    table.add_row(
        "outbox",
        f"{summary['outbox_unsent']} unsent, oldest {summary['outbox_oldest_unsent_seconds']:.0f}s",
    )
    table.add_row("late work", str(summary["late_work"]))
    table.add_row("open dead letters", str(summary["open_dead_letters"]))
    console.print(table)
