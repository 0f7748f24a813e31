"""``skillflow status``: is the local stack up, and is each role ready?"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from rich.console import Console
from rich.table import Table


def probe(url: str) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:
            body = json.loads(response.read() or b"{}")
            return True, ", ".join(k for k, v in body.get("checks", {}).items() if v) or "ready"
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read() or b"{}")
        failing = [k for k, v in body.get("checks", {}).items() if not v]
        return False, "not ready: " + (", ".join(failing) or str(exc.code))
    except OSError as exc:
        return False, f"unreachable ({getattr(exc, 'reason', exc)})"


def print_status(addresses: dict[str, Any]) -> bool:
    console = Console()
    table = Table(title=f"SkillFlow local stack (pid {addresses.get('pid')})")
    table.add_column("role")
    table.add_column("state")
    table.add_column("detail")
    healthy = True
    for role, url in addresses["health"].items():
        ok, detail = probe(url)
        healthy &= ok
        table.add_row(role, "[green]ready[/green]" if ok else "[red]down[/red]", detail)
    console.print(table)
    for label in (
        "api",
        "api_docs",
        "operator_page",
        "temporal",
        "temporal_ui",
        "kafka",
        "postgres",
    ):
        if addresses.get(label):
            console.print(f"  {label:<14} {addresses[label]}")
    return healthy
