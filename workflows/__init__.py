"""Temporal workflow definitions. Deterministic: no I/O, no clock but ``workflow.now()``.

Workflow modules import only the standard library, temporalio, ``schemas`` and ``policy``.
"""

from __future__ import annotations

from typing import Any

ALL_WORKFLOWS: list[type[Any]] = []
"""Every workflow class the worker runs. Each process module appends its classes here."""


def _register_certification() -> None:
    # Imported here, after ALL_WORKFLOWS exists, so the process modules stay importable alone.
    from workflows.application import ApplicationWorkflow
    from workflows.certificate import CertificateRevocationWorkflow
    from workflows.evaluation_body import EvaluationBodyWorkflow
    from workflows.exam_session import ExamSessionWorkflow
    from workflows.promotion import PromotionCertificationWorkflow

    ALL_WORKFLOWS.extend(
        [
            EvaluationBodyWorkflow,
            ExamSessionWorkflow,
            ApplicationWorkflow,
            CertificateRevocationWorkflow,
            PromotionCertificationWorkflow,
        ]
    )


_register_certification()


def _register_records() -> None:
    from workflows.title_equivalence import TitleEquivalenceWorkflow

    ALL_WORKFLOWS.append(TitleEquivalenceWorkflow)


_register_records()


def _register_competitions() -> None:
    from workflows.competition import CompetitionWorkflow
    from workflows.national_squad import NationalSquadWorkflow

    ALL_WORKFLOWS.extend([CompetitionWorkflow, NationalSquadWorkflow])


_register_competitions()
