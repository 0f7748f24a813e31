"""Temporal workflow definitions. Deterministic: no I/O, no clock but ``workflow.now()``.

Workflow modules import only the standard library, temporalio, ``schemas`` and ``policy``,
and the activity classes they call, passed through the sandbox
(``workflow.unsafe.imports_passed_through``) so that each call is typed by the activity's
own signature.
"""

from __future__ import annotations

from typing import Any


def all_workflows() -> list[type[Any]]:
    """Every workflow class the worker runs.

    Imported on call, not with the package: activities import ``workflows.rules``, and the
    workflow modules import the activities they call.
    """
    from workflows.application import ApplicationWorkflow
    from workflows.certificate import CertificateRevocationWorkflow
    from workflows.competition import CompetitionWorkflow
    from workflows.evaluation_body import EvaluationBodyWorkflow
    from workflows.exam_session import ExamSessionWorkflow
    from workflows.imports import ImportWorkflow
    from workflows.national_squad import NationalSquadWorkflow
    from workflows.promotion import PromotionCertificationWorkflow
    from workflows.title_equivalence import TitleEquivalenceWorkflow

    return [
        EvaluationBodyWorkflow,
        ExamSessionWorkflow,
        ApplicationWorkflow,
        CertificateRevocationWorkflow,
        PromotionCertificationWorkflow,
        TitleEquivalenceWorkflow,
        CompetitionWorkflow,
        NationalSquadWorkflow,
        ImportWorkflow,
    ]
