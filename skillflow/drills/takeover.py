"""Evidence, in Temporal's histories, that work moved off a process that died: a workflow
task that timed out (its sticky worker was gone, or died holding it) or an activity that ran
again after its first attempt timed out."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

_TAKEOVER_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
}


async def workflows_taken_over(address: str, session_id: str) -> tuple[int, int]:
    """(workflows of the session, of which those whose history shows a takeover)."""
    client = await Client.connect(address)
    total = taken_over = 0
    async for execution in client.list_workflows(f'SkillSession = "{session_id}"'):
        total += 1
        history = await client.get_workflow_handle(
            execution.id, run_id=execution.run_id
        ).fetch_history()
        if any(
            event.event_type in _TAKEOVER_EVENTS
            or (
                event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
                and event.activity_task_started_event_attributes.attempt > 1
            )
            for event in history.events
        ):
            taken_over += 1
    return total, taken_over
