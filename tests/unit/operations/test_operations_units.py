"""The console's pure parts: service levels as policy data, the last good point of a reset,
JSON log lines (ids kept, ID numbers masked) and the production refusal of demo levels."""

from __future__ import annotations

import json
import logging
import re

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    ActivityTaskFailedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    HistoryEvent,
)

from policy.errors import RuleViolation
from policy.rule_ids import Rule
from policy.service_levels import DEFAULT_VERSION, service_levels, versions
from skillflow.logs import JsonLines, RoleContext, mask_id_numbers
from skillflow.operations.repairs import RepairReason, last_good_point
from skillflow.settings import SettingsError, load_settings


def test_service_levels_are_versioned_data_and_demo_levels_need_demo_policies() -> None:
    assert {DEFAULT_VERSION, "demo-fast"} <= set(versions())
    standard = service_levels(DEFAULT_VERSION)
    assert standard.registration_review_seconds == 7 * 86400
    assert standard.activity_attempts == 5
    with pytest.raises(RuleViolation) as refused:
        service_levels("demo-fast")
    assert refused.value.rule == "policy.demo_not_allowed"
    assert service_levels("demo-fast", demo_allowed=True).held_issuance_seconds == 5
    with pytest.raises(RuleViolation) as unknown:
        service_levels("1999")
    assert unknown.value.rule == "service_levels.unknown_version"


def test_production_refuses_demo_service_levels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLFLOW_ENVIRONMENT", "production")
    monkeypatch.setenv("SKILLFLOW_PERSON_KEY_SECRET", "a-production-secret-of-enough-length-0123")
    monkeypatch.setenv("SKILLFLOW_SERVICE_LEVELS", "demo-fast")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "SKILLFLOW_SERVICE_LEVELS: demo-fast is for demos" in str(error.value)


def _event(event_id: int, event_type: int, **attributes: object) -> HistoryEvent:
    return HistoryEvent(event_id=event_id, event_type=event_type, **attributes)  # type: ignore[arg-type]


WFT_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED


def test_a_reset_goes_back_to_the_task_before_the_failing_activity_was_scheduled() -> None:
    history = [
        _event(1, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
        _event(4, WFT_COMPLETED),
        _event(
            5,
            EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            activity_task_scheduled_event_attributes=ActivityTaskScheduledEventAttributes(
                activity_id="1"
            ),
        ),
        _event(8, WFT_COMPLETED),
        _event(
            9,
            EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            activity_task_scheduled_event_attributes=ActivityTaskScheduledEventAttributes(
                activity_id="2"
            ),
        ),
        _event(
            11,
            EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
            activity_task_failed_event_attributes=ActivityTaskFailedEventAttributes(
                scheduled_event_id=9
            ),
        ),
        _event(14, WFT_COMPLETED),
        _event(15, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED),
    ]
    assert last_good_point(history) == 8
    # An activity still retrying (no failure event yet): before it was scheduled.
    assert last_good_point(history[:5], pending_activity_id="1") == 4
    # Nothing failing: the last completed task.
    assert last_good_point(history[:4]) == 8
    with pytest.raises(RuleViolation) as none:
        last_good_point(history[:1])
    assert none.value.rule == Rule.REPAIR_NO_GOOD_POINT


def test_a_repair_needs_a_reason() -> None:
    assert RepairReason(reason="  replay after fix ").reason == "replay after fix"
    with pytest.raises(ValueError, match="say why"):
        RepairReason(reason="   ")


def _line(record: logging.LogRecord, role: str = "consumers") -> dict[str, str]:
    RoleContext(role).filter(record)
    parsed: dict[str, str] = json.loads(JsonLines().format(record))
    return parsed


def test_json_log_lines_carry_role_and_ids_and_never_an_id_number() -> None:
    record = logging.LogRecord(
        "consumers.delivery", logging.WARNING, __file__, 1,
        "records: certificate.issued %s failed (holder %s)",
        ("e-1", "110101199003071234"), None,
    )  # fmt: skip
    record.event_id = "0b6f-event"
    record.correlation_id = "application-A1"
    line = _line(record)
    assert line["role"] == "consumers" and line["level"] == "warning"
    assert line["event_id"] == "0b6f-event" and line["correlation_id"] == "application-A1"
    assert "110101199003071234" not in json.dumps(line) and "[id-number]" in line["message"]

    workflow_record = logging.LogRecord(
        "temporalio.workflow", logging.INFO, __file__, 1, "hold recheck", None, None
    )
    workflow_record.temporal_workflow = {"workflow_id": "application-A2", "run_id": "r1"}
    line = _line(workflow_record, "worker")
    assert line["workflow_id"] == "application-A2" and line["correlation_id"] == "application-A2"


def test_masking_leaves_other_numbers_alone() -> None:
    assert mask_id_numbers("ID 11010119900307123X ok") == "ID [id-number] ok"
    assert mask_id_numbers("offset 1234567 and S000021000001264000015") == (
        "offset 1234567 and S000021000001264000015"
    )


def test_the_grafana_dashboard_uses_only_metrics_the_roles_serve() -> None:
    from pathlib import Path

    from prometheus_client import REGISTRY

    import skillflow.metrics  # noqa: F401  (registers the series)

    served = {
        sample.name
        for metric in REGISTRY.collect()
        for sample in metric.samples
        if sample.name.startswith("skillflow_")
    } | {m.name for m in REGISTRY.collect() if m.name.startswith("skillflow_")}
    dashboard = json.loads(
        (Path(__file__).parents[3] / "deploy" / "grafana" / "skillflow-dashboard.json").read_text()
    )
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"skillflow_[a-z_]+", target["expr"])
    }

    # Histograms and counters show their series names (_bucket, _total) once observed; the
    # family name is what a fresh registry knows.
    def family(name: str) -> str:
        return re.sub(r"_(bucket|count|sum|total)$", "", name)

    assert used and {family(n) for n in used} <= {family(n) for n in served}, used


def _summary(**changes: object) -> dict[str, object]:
    summary: dict[str, object] = {
        "roles": {"api": "ready", "consumers": "ready", "worker": "ready"},
        "reachability": {"postgres": True, "temporal": True, "kafka": True},
        "workflows": {"Running": 3, "Completed": 9},
        "total_lag": 12,
        "max_partition_lag": 7,
        "lag_error": None,
        "late_work": 1,
        "outbox_unsent": 0,
        "outbox_oldest_unsent_seconds": 0.0,
        "open_dead_letters": 0,
    }
    return {**summary, **changes}


@pytest.mark.parametrize(
    ("changes", "max_lag", "problem"),
    [
        ({}, 1000, None),
        ({}, 5, "consumer lag 7 on a partition exceeds 5"),
        (
            {"roles": {"api": "ready", "consumers": "down", "worker": "ready"}},
            1000,
            "consumers is down",
        ),
        (
            {"reachability": {"postgres": True, "temporal": False, "kafka": True}},
            1000,
            "temporal unreachable",
        ),
        ({"lag_error": "broker unreachable (KafkaConnectionError)"}, 1000, "lag unknown"),
    ],
)
def test_status_is_unhealthy_when_a_role_is_down_a_server_unreachable_or_lag_too_high(
    changes: dict[str, object], max_lag: int, problem: str | None
) -> None:
    from io import StringIO

    from rich.console import Console

    from skillflow.stack.status import Verdict, _print_summary

    verdict = Verdict()
    _print_summary(Console(file=StringIO()), _summary(**changes), max_lag, verdict)
    if problem is None:
        assert verdict.healthy, verdict.problems
    else:
        assert not verdict.healthy and any(problem in p for p in verdict.problems), verdict.problems


def test_a_role_probed_directly_is_judged_by_its_probe_not_its_heartbeat() -> None:
    from io import StringIO

    from rich.console import Console

    from skillflow.stack.status import Verdict, _print_summary

    starting = _summary(roles={"api": "ready", "consumers": "ready", "worker": "not ready"})
    verdict = Verdict()
    _print_summary(Console(file=StringIO()), starting, 1000, verdict, probed={"worker"})
    assert verdict.healthy, verdict.problems
    _print_summary(Console(file=StringIO()), starting, 1000, verdict, probed=set())
    assert verdict.problems == ["worker is not ready (heartbeat)"]
