"""What every activity gets from the worker: the pool, the settings, the Temporal client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import asyncpg
from temporalio.client import Client

from skillflow.settings import Settings

STEP_TIMEOUT: Final = timedelta(seconds=30)
"""What a workflow allows one step before Temporal retries it: each activity is one short
PostgreSQL transaction (state plus its outbox events)."""


@dataclass(frozen=True)
class ActivityResources:
    pool: asyncpg.Pool
    settings: Settings
    temporal: Client


def build_activities(resources: ActivityResources) -> list[Callable[..., Any]]:
    """Every activity the worker registers, bound to ``resources``."""
    activities: list[Callable[..., Any]] = []
    activities += certification_activities(resources)
    activities += records_activities(resources)
    activities += competition_activities(resources)
    return activities


def certification_activities(resources: ActivityResources) -> list[Callable[..., Any]]:
    from activities.application import ApplicationActivities
    from activities.certificate import CertificateActivities
    from activities.evaluation_body import EvaluationBodyActivities
    from activities.exam_session import ExamSessionActivities
    from activities.imports import ImportActivities
    from activities.registration import RegistrationActivities

    body = EvaluationBodyActivities(resources)
    session = ExamSessionActivities(resources)
    application = ApplicationActivities(resources)
    certificate = CertificateActivities(resources)
    registration = RegistrationActivities(resources)
    bulk_import = ImportActivities(resources)
    return [
        body.assessment_policy,
        body.record_body_filed,
        body.record_body_status,
        body.sample_certificates,
        body.record_quality_review,
        session.open_session,
        session.session_roster,
        session.record_session_status,
        registration.start_unstarted_applications,
        bulk_import.decide_rows,
        bulk_import.finish_job,
        application.record_review,
        application.record_assessment,
        application.record_correction,
        application.record_objection,
        application.record_resolution,
        application.record_stage,
        certificate.issue_certificate,
        certificate.record_withholding,
        certificate.revoke_certificate,
    ]


def records_activities(resources: ActivityResources) -> list[Callable[..., Any]]:
    from activities.title_equivalence import title_equivalence_activities

    return title_equivalence_activities(resources.pool)


def competition_activities(resources: ActivityResources) -> list[Callable[..., Any]]:
    from activities.competition import CompetitionActivities
    from activities.national_squad import NationalSquadActivities

    competition = CompetitionActivities(resources)
    squad = NationalSquadActivities(resources)
    return [
        competition.record_worldskills_results,
        squad.form,
        squad.record_change,
        squad.enter_team_member,
        competition.open_competition,
        competition.close_entries,
        competition.record_phase,
        competition.lock_module,
        competition.publish_results,
        competition.advance,
    ]
