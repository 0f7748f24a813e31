"""Every workflow id, in one place. A workflow's id is also the ``correlation_id`` of the
events its steps publish, so activities, consumers and the API build it here too.

An id derives from the business key (``application-{application_id}``, ...): starting the
same workflow twice is refused by Temporal, so a retried request or a redelivered event
never runs a process twice.
"""

from __future__ import annotations

import hashlib
from typing import Final

PROMOTION_PREFIX: Final = "promotion-"
TITLE_EQUIVALENCE_WORKFLOW_ID: Final = "title-equivalence"
"""The daily schedule's runs (one at a time)."""


def application_workflow_id(application_id: str) -> str:
    return f"application-{application_id}"


def session_workflow_id(session_id: str) -> str:
    return f"session-{session_id}"


def body_workflow_id(body_id: str) -> str:
    return f"body-{body_id}"


def revocation_workflow_id(certificate_number: str) -> str:
    return f"revocation-{certificate_number}"


def promotion_workflow_id(promotion_id: str) -> str:
    """The certification workflow's id, and the source id of the certificate it issues."""
    return f"{PROMOTION_PREFIX}{promotion_id}"


def promotion_id_of(source_id: str) -> str | None:
    """The promotion a certificate's source id names, or None for an assessed one."""
    if source_id.startswith(PROMOTION_PREFIX):
        return source_id.removeprefix(PROMOTION_PREFIX)
    return None


def competition_workflow_id(competition_id: str) -> str:
    return f"competition-{competition_id}"


def squad_workflow_id(squad_id: str) -> str:
    """The national training squad's workflow."""
    return f"squad-{squad_id}"


def import_job_id(session_id: str, kind: str, file_sha256: str) -> str:
    """An import job's id: the same file sent again for the same session and kind finds
    the same job; any other file is a new one."""
    key = f"{session_id}\n{kind}\n{file_sha256}".encode()
    return f"imp-{hashlib.sha256(key).hexdigest()[:32]}"


def import_workflow_id(job_id: str) -> str:
    return f"import-{job_id}"
