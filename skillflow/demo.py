"""``skillflow demo``: a realistic scenario driven through the running service's API."""

from __future__ import annotations

from typing import Any


async def run_demo(addresses: dict[str, Any], candidates: int) -> bool:
    raise NotImplementedError("the demo scenario arrives with the certification API")
