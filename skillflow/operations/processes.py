"""Workflows by process and stage, counted by Temporal visibility on the search attributes.

Temporal groups counts by ``ExecutionStatus`` only, so each (process, stage) pair is one
count query grouped by status. A process's stages are its declared ones plus any seen on
its most recent executions (a new process, such as competitions, shows up on its own).
Every count carries its visibility query, so the console links it to the Temporal UI.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Final, get_args
from urllib.parse import quote

from temporalio import workflow
from temporalio.client import Client

from schemas.application import Stage
from schemas.evaluation_body import BodyStatus
from schemas.exam_session import SessionStatus
from workflows import all_workflows, search_attributes

STATUSES: Final = ("Running", "Completed", "Failed", "TimedOut", "Terminated", "Canceled")

# What operators call each process, and the stages it moves through (in order).
LABELS: Final = {
    "EvaluationBodyWorkflow": "body filing",
    "ExamSessionWorkflow": "session",
    "ApplicationWorkflow": "application",
    "CertificateRevocationWorkflow": "revocation",
    "PromotionCertificationWorkflow": "promotion",
    "TitleEquivalenceWorkflow": "title schedule",
    "CompetitionWorkflow": "competition",
    "NationalSquadWorkflow": "national squad",
}
DECLARED_STAGES: Final[dict[str, tuple[str, ...]]] = {
    "EvaluationBodyWorkflow": get_args(BodyStatus),
    "ExamSessionWorkflow": get_args(SessionStatus),
    "ApplicationWorkflow": get_args(Stage),
}
NO_STAGE: Final = "(no stage)"
# Stages are discovered on this many of a process's newest executions.
_DISCOVERY_SAMPLE: Final = 200
_CONCURRENT_QUERIES: Final = 8


def workflow_types() -> list[str]:
    """Every process the worker runs, by workflow type name."""
    # The SDK keeps a workflow's registered name on its definition (no public accessor).
    names = [workflow._Definition.must_from_class(cls).name for cls in all_workflows()]
    return [name for name in names if name is not None]


def ui_link(temporal_ui: str, namespace: str, query: str) -> str | None:
    """The same visibility query in the Temporal Web UI's workflow list."""
    if not temporal_ui:
        return None
    return f"{temporal_ui.rstrip('/')}/namespaces/{quote(namespace)}/workflows?query={quote(query)}"


def workflow_link(temporal_ui: str, namespace: str, workflow_id: str) -> str | None:
    if not temporal_ui:
        return None
    return (
        f"{temporal_ui.rstrip('/')}/namespaces/{quote(namespace)}/workflows/"
        f"{quote(workflow_id, safe='')}"
    )


@dataclass
class Count:
    status: str
    count: int
    query: str
    link: str | None


@dataclass
class StageRow:
    stage: str
    counts: dict[str, Count]
    total: int


@dataclass
class ProcessRow:
    process: str
    workflow_type: str
    totals: dict[str, Count]
    total: int
    link: str | None
    stages: list[StageRow] = field(default_factory=list)


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class ProcessCounter:
    def __init__(self, client: Client, namespace: str, temporal_ui: str = "") -> None:
        self._client = client
        self._namespace = namespace
        self._ui = temporal_ui
        self._limit = asyncio.Semaphore(_CONCURRENT_QUERIES)

    async def _by_status(self, query: str) -> dict[str, int]:
        async with self._limit:
            counted = await self._client.count_workflows(f"{query} GROUP BY ExecutionStatus")
        found = {str(g.group_values[0]): g.count for g in counted.groups}
        return {status: found.get(status, 0) for status in STATUSES}

    def _counts(self, query: str, by_status: dict[str, int]) -> dict[str, Count]:
        return {
            status: Count(
                status,
                n,
                f"{query} AND ExecutionStatus={_quoted(status)}",
                ui_link(
                    self._ui, self._namespace, f"{query} AND ExecutionStatus={_quoted(status)}"
                ),
            )
            for status, n in by_status.items()
        }

    async def _stages_seen(self, type_query: str) -> list[str]:
        seen: list[str] = []
        async with self._limit:
            async for execution in self._client.list_workflows(
                type_query, limit=_DISCOVERY_SAMPLE, page_size=_DISCOVERY_SAMPLE
            ):
                stage = execution.typed_search_attributes.get(search_attributes.STAGE)
                if stage is not None and stage not in seen:
                    seen.append(stage)
        return seen

    async def process(self, workflow_type: str) -> ProcessRow:
        type_query = f"WorkflowType={_quoted(workflow_type)}"
        totals, seen = await asyncio.gather(
            self._by_status(type_query), self._stages_seen(type_query)
        )
        row = ProcessRow(
            process=LABELS.get(workflow_type, workflow_type),
            workflow_type=workflow_type,
            totals=self._counts(type_query, totals),
            total=sum(totals.values()),
            link=ui_link(self._ui, self._namespace, type_query),
        )
        if row.total == 0:
            return row
        stages = list(DECLARED_STAGES.get(workflow_type, ()))
        stages += [s for s in seen if s not in stages]
        queries = [f"{type_query} AND SkillStage={_quoted(stage)}" for stage in stages]
        counted = await asyncio.gather(*(self._by_status(q) for q in queries))
        staged = dict.fromkeys(STATUSES, 0)
        for stage, query, by_status in zip(stages, queries, counted, strict=True):
            if sum(by_status.values()) == 0:
                continue
            for status, n in by_status.items():
                staged[status] += n
            row.stages.append(
                StageRow(stage, self._counts(query, by_status), sum(by_status.values()))
            )
        unstaged = {status: totals[status] - staged[status] for status in STATUSES}
        if any(unstaged.values()):
            query = f"{type_query} AND SkillStage IS NULL"
            row.stages.append(
                StageRow(NO_STAGE, self._counts(query, unstaged), sum(unstaged.values()))
            )
        return row

    async def all_processes(self) -> list[ProcessRow]:
        return list(await asyncio.gather(*(self.process(t) for t in workflow_types())))
