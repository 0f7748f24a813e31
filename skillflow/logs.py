"""How roles log: the readable console format, or one JSON object per line
(``SKILLFLOW_LOG_FORMAT=json``) carrying the role, the workflow id or event id and the
correlation id. Anything shaped like an ID number is masked before it is written, whatever
the logger: a last line of defence, since no code should log one."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any, Final

from temporalio import activity

from skillflow.settings import Settings

# 17 digits and a digit or X (resident ID number), not inside a longer run of digits.
ID_NUMBER: Final = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
MASK: Final = "[id-number]"
CONSOLE_FORMAT: Final = "%(asctime)s %(levelname)s %(role)s %(name)s: %(message)s"
# Context a record may carry (``extra={...}``) that a JSON line keeps as its own field.
CONTEXT_FIELDS: Final = (
    "workflow_id",
    "run_id",
    "activity_type",
    "event_id",
    "event_type",
    "correlation_id",
    "consumer",
)


def mask_id_numbers(text: str) -> str:
    return ID_NUMBER.sub(MASK, text)


class RoleContext(logging.Filter):
    """Adds the role, the Temporal context (workflow id, activity type) when the record was
    made inside an activity or a workflow, and masks ID numbers in the message."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def filter(self, record: logging.LogRecord) -> bool:
        record.role = self.role
        temporal: dict[str, Any] = (
            getattr(record, "temporal_activity", None)
            or getattr(record, "temporal_workflow", None)
            or {}
        )
        if not temporal and activity.in_activity():
            info = activity.info()
            temporal = {"workflow_id": info.workflow_id, "activity_type": info.activity_type}
        for key in ("workflow_id", "run_id", "activity_type", "workflow_type"):
            if key in temporal and not hasattr(record, key):
                setattr(record, key, temporal[key])
        if not hasattr(record, "correlation_id") and hasattr(record, "workflow_id"):
            # A workflow's events carry its id as their correlation id.
            record.correlation_id = record.workflow_id
        record.msg = mask_id_numbers(record.getMessage())
        record.args = None
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "role": getattr(record, "role", None),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in (*CONTEXT_FIELDS, "workflow_type"):
            value = getattr(record, key, None)
            if value is not None:
                line[key] = str(value)
        if record.exc_info:
            line["error"] = mask_id_numbers(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def configure_logging(settings: Settings, role: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RoleContext(role))
    handler.setFormatter(
        JsonLines() if settings.log_format == "json" else logging.Formatter(CONSOLE_FORMAT)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Reading consumer lag looks the group coordinator up every few seconds; its INFO line
    # each time would drown the log (warnings and errors still show).
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.WARNING)
