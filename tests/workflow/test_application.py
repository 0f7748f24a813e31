"""Every path of one candidate's application, on the time-skipping server."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from policy.assessment import ApplicationFigures, load_assessment_policy
from policy.catalogue import get_occupation, required_components
from policy.rule_ids import Rule
from schemas import payloads
from schemas.application import (
    ApplicationStart,
    ApplicationStatus,
    HoldRecheck,
    Objection,
    ObjectionResolution,
    ReviewDecision,
    ScoreCorrection,
    ScoreEntry,
    ScoreSheet,
)
from schemas.workflow_ids import application_workflow_id
from tests.workflow.conftest import FakeBody, Harness
from workflows.application import ApplicationWorkflow
from workflows.rules import rule_violations_from

FITTER = "6-20-01-01"  # 钳工: practical may be sat before theory
ELECTRICIAN = "6-31-01-03"  # 电工: theory must pass before the practical
BODY = "S-TEST"
PERSON_KEY = "a" * 64

Handle = WorkflowHandle[ApplicationWorkflow, ApplicationStatus]


def application(
    harness: Harness,
    *,
    occupation: str = FITTER,
    level: int = 5,
    pass_mark: int = 60,
    policy: str = "2024-default",
) -> ApplicationStart:
    harness.store.bodies.setdefault(
        BODY,
        FakeBody(
            "S",
            "active",
            [f"{code}:{lv}" for code in (FITTER, ELECTRICIAN) for lv in (1, 2, 3, 4, 5)],
        ),
    )
    return ApplicationStart(
        application_id=harness.unique("app"),
        session_id="sess-1",
        body_id=BODY,
        body_type="S",
        occupation_code=occupation,
        level=level,
        person_key=PERSON_KEY,
        required_components=required_components(get_occupation(occupation), level),
        theory_before_practical=get_occupation(occupation).theory_before_practical,
        pass_mark=pass_mark,
        figures=ApplicationFigures.of(load_assessment_policy(policy)),
    )


async def start(harness: Harness, start: ApplicationStart) -> Handle:
    handle: Handle = await harness.start(
        ApplicationWorkflow.run, start, application_workflow_id(start.application_id)
    )
    return handle


async def approved(harness: Harness, **kwargs: object) -> tuple[Handle, ApplicationStart]:
    start_input = application(harness, **kwargs)  # type: ignore[arg-type]
    handle = await start(harness, start_input)
    status = await handle.execute_update(ApplicationWorkflow.review, ReviewDecision(approve=True))
    assert status.stage == "assessment"
    return handle, start_input


def recorded(harness: Harness, application_id: str, what: str) -> datetime:
    return harness.store.recorded_at[(application_id, what)]


def sheet(examiner: str = "E1", **scores: float) -> ScoreSheet:
    return ScoreSheet(
        entries=[ScoreEntry(component=c, score=s, examiner_id=examiner) for c, s in scores.items()]  # type: ignore[arg-type]
    )


async def scored(handle: Handle, examiner: str = "E1", **scores: float) -> ApplicationStatus:
    """The application's status after ``examiner`` enters ``scores``."""
    status: ApplicationStatus = await handle.execute_update(
        ApplicationWorkflow.enter_scores, sheet(examiner, **scores)
    )
    return status


async def rejected_rule(coroutine: object) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await coroutine  # type: ignore[misc]
    violations = rule_violations_from(caught.value)
    assert violations is not None, caught.value
    return violations.violations[0].rule


# --- registration review ----------------------------------------------------------------


async def test_approved_candidate_who_passes_gets_a_certificate_after_notice(
    harness: Harness,
) -> None:
    handle, start_input = await approved(harness)
    status = await scored(handle, theory=72, practical=81)
    assert status.stage == "public_notice"
    assert status.notice_ends_at is not None

    result = await handle.result()

    assert result.stage == "issued"
    assert result.certificate_number is not None
    assert re.fullmatch(r"S\d{21}", result.certificate_number)
    assert result.certificate_number[15] == "5"
    assert harness.store.event_types() == [
        payloads.RegistrationApproved.event_type,
        payloads.ComponentScored.event_type,
        payloads.ComponentScored.event_type,
        payloads.AssessmentPassed.event_type,
        payloads.PublicNoticeStarted.event_type,
        payloads.CertificateIssued.event_type,
    ]
    assert harness.store.stages[start_input.application_id] == "issued"


async def test_notice_lasts_the_policy_period_before_issuance(harness: Harness) -> None:
    handle, start_input = await approved(harness)
    await scored(handle, theory=72, practical=81)
    await handle.result()
    app = start_input.application_id
    elapsed = recorded(harness, app, "issued") - recorded(harness, app, "scored-public_notice")
    notice = timedelta(days=load_assessment_policy().public_notice_days)
    assert notice <= elapsed < notice + timedelta(hours=1)


async def test_rejection_needs_a_reason_and_ends_the_application(harness: Harness) -> None:
    handle = await start(harness, application(harness))
    rule = await rejected_rule(
        handle.execute_update(ApplicationWorkflow.review, ReviewDecision(approve=False))
    )
    assert rule == Rule.REVIEW_REASON_REQUIRED

    status = await handle.execute_update(
        ApplicationWorkflow.review, ReviewDecision(approve=False, reason="forged work record")
    )

    assert status.stage == "rejected"
    assert (await handle.result()).rule == Rule.REVIEW_REJECTED
    assert harness.store.event_types() == [payloads.RegistrationRejected.event_type]


async def test_unreviewed_registration_expires_at_the_deadline(harness: Harness) -> None:
    start_input = application(harness)
    handle = await start(harness, start_input)
    started = (await handle.describe()).start_time

    result = await handle.result()

    assert result.stage == "expired"
    elapsed = recorded(harness, start_input.application_id, "expired") - started
    days = load_assessment_policy().registration_review_days
    assert timedelta(days=days) <= elapsed < timedelta(days=days, hours=1)
    assert harness.store.event_types() == [payloads.RegistrationExpired.event_type]


async def test_second_review_is_refused(harness: Harness) -> None:
    handle, _ = await approved(harness)
    rule = await rejected_rule(
        handle.execute_update(ApplicationWorkflow.review, ReviewDecision(approve=True))
    )
    assert rule == Rule.REVIEW_NOT_AWAITING


# --- scores -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "rule"),
    [
        ({"theory": 101}, Rule.SCORE_RANGE),
        ({"theory": -1}, Rule.SCORE_RANGE),
        ({"review": 70}, Rule.SCORE_COMPONENT_NOT_REQUIRED),
    ],
)
async def test_bad_scores_are_refused_before_they_enter_history(
    harness: Harness, scores: dict[str, float], rule: str
) -> None:
    handle, _ = await approved(harness)
    assert await rejected_rule(scored(handle, **scores)) == rule
    status = await handle.query(ApplicationWorkflow.status)
    assert status.scores == {}
    history = await handle.fetch_history()
    assert not any(
        e.HasField("workflow_execution_update_accepted_event_attributes") and False
        for e in history.events
    )


async def test_scores_are_not_taken_before_approval(harness: Harness) -> None:
    handle = await start(harness, application(harness))
    rule = await rejected_rule(scored(handle, theory=70))
    assert rule == Rule.SCORE_NOT_OPEN


async def test_a_signed_off_score_is_changed_only_by_a_correction_with_audit(
    harness: Harness,
) -> None:
    handle, start_input = await approved(harness)
    await scored(handle, theory=55)
    rule = await rejected_rule(scored(handle, theory=65))
    assert rule == Rule.SCORE_ALREADY_SIGNED_OFF

    status = await handle.execute_update(
        ApplicationWorkflow.correct_score,
        ScoreCorrection(
            correction_id="c1",
            component="theory",
            score=65,
            reason="page 4 was not marked",
            corrected_by="E1",
        ),
    )

    assert status.scores["theory"] == 65
    [audit] = harness.store.audit
    assert (audit.previous_score, audit.correction.score) == (55, 65)
    assert audit.application_id == start_input.application_id
    assert payloads.ScoreCorrected.event_type in harness.store.event_types()


def correction(component: str, score: float, correction_id: str = "c1") -> ScoreCorrection:
    return ScoreCorrection(
        correction_id=correction_id,
        component=component,  # type: ignore[arg-type]
        score=score,
        reason="marking error found on review",
        corrected_by="E1",
    )


async def test_a_correction_id_is_used_once(harness: Harness) -> None:
    handle, _ = await approved(harness)
    await scored(handle, theory=55)
    await handle.execute_update(ApplicationWorkflow.correct_score, correction("theory", 65))

    rule = await rejected_rule(
        handle.execute_update(ApplicationWorkflow.correct_score, correction("theory", 75))
    )

    # Reused, it would change the score with no audit row and no event of its own.
    assert rule == Rule.SCORE_CORRECTION_DUPLICATE
    assert (await handle.query(ApplicationWorkflow.status)).scores["theory"] == 65
    assert len(harness.store.audit) == 1


async def test_only_an_entered_score_is_corrected(harness: Harness) -> None:
    handle, _ = await approved(harness)
    rule = await rejected_rule(
        handle.execute_update(ApplicationWorkflow.correct_score, correction("theory", 65))
    )
    assert rule == Rule.SCORE_NOT_SIGNED_OFF


async def test_a_mis_marked_failure_awaiting_its_resit_is_corrected_to_a_pass(
    harness: Harness,
) -> None:
    handle, _ = await approved(harness)
    status = await scored(handle, theory=55, practical=80)
    assert status.stage == "resit"

    status = await handle.execute_update(
        ApplicationWorkflow.correct_score, correction("theory", 65)
    )

    # No re-sit is spent on a marking error: the corrected round passes.
    assert status.stage == "public_notice"
    assert status.attempts == {"theory": 1, "practical": 1}


async def test_theory_corrected_below_the_mark_ends_a_theory_first_round(
    harness: Harness,
) -> None:
    handle, _ = await approved(harness, occupation=ELECTRICIAN)
    await scored(handle, theory=70)

    status = await handle.execute_update(
        ApplicationWorkflow.correct_score, correction("theory", 45)
    )

    # The practical may not follow a failed theory, so the round is over: without this
    # the application would wait in assessment for a practical nobody may enter.
    assert status.stage == "resit"
    assert status.failed_components == ["theory"]
    assert status.awaiting == ["theory", "practical"]


async def test_a_correction_during_the_resit_puts_a_failed_component_back(
    harness: Harness,
) -> None:
    handle, _ = await approved(harness)
    await scored(handle, theory=50, practical=70)

    status = await handle.execute_update(
        ApplicationWorkflow.correct_score, correction("practical", 40)
    )

    # The practical no longer stands, so the re-sit covers it as well as the theory.
    assert status.stage == "resit"
    assert status.awaiting == ["theory", "practical"]
    status = await scored(handle, theory=70)
    assert status.stage == "resit"
    assert status.awaiting == ["practical"]
    status = await scored(handle, practical=66)
    assert status.stage == "public_notice"


async def test_theory_must_pass_before_the_practical_where_the_standard_says_so(
    harness: Harness,
) -> None:
    handle, _ = await approved(harness, occupation=ELECTRICIAN)
    rule = await rejected_rule(scored(handle, practical=80))
    assert rule == Rule.SCORE_THEORY_BEFORE_PRACTICAL

    status = await scored(handle, theory=40)

    # A failed theory ends the round: the practical was never sat and waits for the re-sit.
    assert status.stage == "resit"
    assert status.failed_components == ["theory"]
    assert status.awaiting == ["theory", "practical"]


async def test_practical_first_is_fine_where_the_standard_allows_it(harness: Harness) -> None:
    handle, _ = await approved(harness, occupation=FITTER)
    status = await scored(handle, practical=80)
    assert status.stage == "assessment"
    assert status.awaiting == ["theory"]


async def test_levels_two_and_one_need_the_comprehensive_review(harness: Harness) -> None:
    handle, _ = await approved(harness, level=2)
    status = await scored(handle, theory=70, practical=70)
    assert status.stage == "assessment"
    assert status.awaiting == ["review"]
    status = await scored(handle, review=61)
    assert status.stage == "public_notice"


async def test_enterprise_pass_mark_applies(harness: Harness) -> None:
    handle, _ = await approved(harness, pass_mark=70)
    status = await scored(handle, theory=65, practical=90)
    assert status.stage == "resit"
    assert status.failed_components == ["theory"]


# --- fail and re-sit ----------------------------------------------------------------------


async def test_failed_component_is_resat_without_repeating_the_passed_one(
    harness: Harness,
) -> None:
    handle, _ = await approved(harness)
    status = await scored(handle, theory=50, practical=75)
    assert status.stage == "resit"
    assert status.resit_deadline is not None
    rule = await rejected_rule(scored(handle, practical=90))
    assert rule == Rule.SCORE_COMPONENT_PASSED

    status = await scored(handle, theory=66)

    assert status.stage == "public_notice"
    assert status.attempts == {"theory": 2, "practical": 1}
    result = await handle.result()
    assert result.stage == "issued"
    assert harness.store.event_types().count(payloads.AssessmentFailed.event_type) == 1


async def test_failing_the_resit_ends_in_failure(harness: Harness) -> None:
    handle, _ = await approved(harness)
    await scored(handle, theory=50, practical=75)

    status = await scored(handle, theory=52)

    # The policy allows one re-sit per component.
    assert status.stage == "failed"
    result = await handle.result()
    assert result.stage == "failed"
    assert result.rule == Rule.ASSESSMENT_FAILED


async def test_resit_window_lapses_into_failure(harness: Harness) -> None:
    handle, start_input = await approved(harness)
    await scored(handle, theory=50, practical=75)

    result = await handle.result()

    assert result.stage == "failed"
    assert result.rule == Rule.RESIT_WINDOW_LAPSED
    app = start_input.application_id
    elapsed = recorded(harness, app, "failed") - recorded(harness, app, "scored-resit")
    days = load_assessment_policy().resit_window_days
    assert timedelta(days=days) <= elapsed <= timedelta(days=days + 1)


# --- public notice and objections ----------------------------------------------------------


async def passed(harness: Harness) -> tuple[Handle, ApplicationStart]:
    handle, start_input = await approved(harness)
    await scored(handle, theory=72, practical=81)
    return handle, start_input


async def test_upheld_objection_withholds_the_certificate(harness: Harness) -> None:
    handle, _ = await passed(harness)
    status = await handle.execute_update(
        ApplicationWorkflow.raise_objection,
        Objection(objection_id="o1", reason="the candidate's work record is forged"),
    )
    assert status.stage == "objection"

    status = await handle.execute_update(
        ApplicationWorkflow.resolve_objection,
        ObjectionResolution(objection_id="o1", upheld=True, resolution="record forged"),
    )

    assert status.stage == "withheld"
    result = await handle.result()
    assert result.stage == "withheld"
    assert result.certificate_number is None
    assert result.rule == Rule.OBJECTION_UPHELD
    assert payloads.CertificateIssued.event_type not in harness.store.event_types()
    assert harness.store.event_types()[-2:] == [
        payloads.ObjectionResolved.event_type,
        payloads.CertificateWithheld.event_type,
    ]


async def test_objection_holds_issuance_past_the_notice_until_dismissed(
    harness: Harness,
) -> None:
    handle, _ = await passed(harness)
    await handle.execute_update(
        ApplicationWorkflow.raise_objection, Objection(objection_id="o1", reason="doubt")
    )
    await harness.env.sleep(timedelta(days=30))
    assert (await handle.query(ApplicationWorkflow.status)).stage == "objection"
    assert harness.store.calls["issue_certificate"] == 0

    await handle.execute_update(
        ApplicationWorkflow.resolve_objection,
        ObjectionResolution(objection_id="o1", upheld=False, resolution="no evidence"),
    )

    result = await handle.result()
    assert result.stage == "issued"
    assert result.certificate_number is not None


async def test_objection_after_the_notice_is_refused(harness: Harness) -> None:
    handle, _ = await passed(harness)
    # An open objection keeps the application in notice past its end.
    await handle.execute_update(
        ApplicationWorkflow.raise_objection, Objection(objection_id="o1", reason="doubt")
    )
    await harness.env.sleep(timedelta(days=load_assessment_policy().public_notice_days + 1))
    rule = await rejected_rule(
        handle.execute_update(
            ApplicationWorkflow.raise_objection, Objection(objection_id="late", reason="late")
        )
    )
    assert rule == Rule.OBJECTION_NOTICE_OVER
    await handle.execute_update(
        ApplicationWorkflow.resolve_objection,
        ObjectionResolution(objection_id="o1", upheld=False, resolution="no evidence"),
    )
    assert (await handle.result()).stage == "issued"


async def test_objection_outside_notice_is_refused(harness: Harness) -> None:
    handle, _ = await approved(harness)
    rule = await rejected_rule(
        handle.execute_update(
            ApplicationWorkflow.raise_objection, Objection(objection_id="o1", reason="x")
        )
    )
    assert rule == Rule.OBJECTION_NOT_IN_NOTICE


async def test_correction_that_breaks_the_pass_ends_the_notice(harness: Harness) -> None:
    handle, _ = await passed(harness)
    status = await handle.execute_update(
        ApplicationWorkflow.correct_score,
        ScoreCorrection(
            correction_id="c1",
            component="practical",
            score=51,
            reason="marks added twice",
            corrected_by="E2",
        ),
    )
    assert status.stage == "resit"
    assert status.failed_components == ["practical"]
    assert status.notice_ends_at is None


# --- body suspension during notice ---------------------------------------------------------


async def test_suspension_during_notice_holds_issuance_until_reinstated(
    harness: Harness,
) -> None:
    handle, _ = await passed(harness)
    harness.store.bodies[BODY].status = "suspended"
    await harness.env.sleep(timedelta(days=load_assessment_policy().public_notice_days + 3))
    status = await handle.query(ApplicationWorkflow.status)
    assert status.stage == "held"
    assert status.certificate_number is None

    harness.store.bodies[BODY].status = "active"
    result = await handle.result()

    assert result.stage == "issued"
    assert result.certificate_number is not None


async def test_an_operators_recheck_issues_a_held_certificate_without_waiting_a_day(
    harness: Harness,
) -> None:
    handle, _ = await passed(harness)
    harness.store.bodies[BODY].status = "suspended"
    # Half-way between two daily rechecks, so none is due while the test looks.
    await harness.env.sleep(timedelta(days=load_assessment_policy().public_notice_days + 1.5))
    assert (await handle.query(ApplicationWorkflow.status)).stage == "held"
    harness.store.bodies[BODY].status = "active"

    # The clock stands still: only the signal can bring the daily recheck forward.
    with harness.env.auto_time_skipping_disabled():
        before = await harness.env.get_current_time()
        await handle.signal(ApplicationWorkflow.recheck_hold, HoldRecheck(requested_by="op-1"))
        for _ in range(100):
            status = await handle.query(ApplicationWorkflow.status)
            if status.stage == "issued":
                break
            await asyncio.sleep(0.1)
        assert status.stage == "issued" and status.certificate_number is not None
        assert await harness.env.get_current_time() - before < timedelta(hours=1)


async def test_a_recheck_outside_a_hold_changes_nothing(harness: Harness) -> None:
    handle, _ = await passed(harness)
    await handle.signal(ApplicationWorkflow.recheck_hold, HoldRecheck(requested_by="op-1"))
    assert (await handle.query(ApplicationWorkflow.status)).stage == "public_notice"
    assert (await handle.result()).stage == "issued"


async def test_revocation_during_hold_withholds_the_certificate(harness: Harness) -> None:
    handle, _ = await passed(harness)
    harness.store.bodies[BODY].status = "suspended"
    await harness.env.sleep(timedelta(days=load_assessment_policy().public_notice_days + 2))
    harness.store.bodies[BODY].status = "revoked"

    result = await handle.result()

    assert result.stage == "withheld"
    assert result.rule == Rule.BODY_BODY_REVOKED
    assert payloads.CertificateIssued.event_type not in harness.store.event_types()


async def test_demo_policy_notice_lasts_seconds(harness: Harness) -> None:
    handle, start_input = await approved(harness, policy="demo-fast")
    await scored(handle, theory=72, practical=81)
    result = await handle.result()
    assert result.stage == "issued"
    app = start_input.application_id
    elapsed = recorded(harness, app, "issued") - recorded(harness, app, "scored-public_notice")
    assert timedelta(seconds=3) <= elapsed < timedelta(minutes=1)
