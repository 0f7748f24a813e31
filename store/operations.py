"""Queries on the ``operations`` schema that the API writes when an operator repairs a
workflow. The worker's retry interceptor (``skillflow.operations.activity_retries``) fills
``operations.activity_retries``; the console reads it as late work."""

from __future__ import annotations

from store.database import Connection


async def forget_activity_retries(conn: Connection, workflow_id: str) -> None:
    """The run whose activity kept failing is gone (reset or terminated): it is no longer
    late work."""
    await conn.execute(
        "DELETE FROM operations.activity_retries WHERE workflow_id = $1", workflow_id
    )
