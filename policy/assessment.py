"""Assessment rules: scores, passing, session staffing, recusal, re-sits, pass marks.

Figures come from a versioned ``AssessmentPolicy`` in ``data/assessment/<version>.json``;
the functions take the figures they need as arguments.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import date, timedelta
from importlib.resources import files
from typing import Final, Literal, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from policy.catalogue import NATIONAL_LEVELS, Component
from policy.errors import RuleViolation, Violation
from policy.rule_ids import Rule

DEFAULT_ASSESSMENT_POLICY: Final = "2024-default"

ExaminerGrade = Literal["ordinary", "senior"]
RecusalReason = Literal["relative", "same_employer", "trainer"]

_COMPONENTS: Final[tuple[Component, ...]] = ("theory", "practical", "review")
_VERSION_SHAPE: Final = re.compile(r"[a-z0-9][a-z0-9-]*")


class StaffingRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    candidates_per_proctor: int = Field(gt=0)
    min_proctors_per_theory_room: int = Field(ge=1)
    candidates_per_practical_examiner: int = Field(gt=0)
    min_practical_examiners: int = Field(ge=1)
    practical_panel_odd: bool
    min_review_panel: int = Field(ge=1)
    review_panel_odd: bool
    grade_levels: dict[ExaminerGrade, tuple[int, ...]] = Field(
        description="Levels each examiner grade may assess"
    )

    @model_validator(mode="after")
    def _every_grade_listed(self) -> Self:
        if set(self.grade_levels) != {"ordinary", "senior"}:
            raise ValueError("grade_levels must list the ordinary and senior grades")
        return self


class AssessmentPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    demo: bool = Field(
        default=False,
        description="A walkthrough version (seconds instead of days): admitted only where the "
        "stack runs for a demo or a test, never in production",
    )
    pass_mark: int = Field(description="National pass mark for every component")
    score_min: int
    score_max: int
    min_candidate_age: int = Field(ge=0)
    registration_review_days: int = Field(gt=0, description="Days a body has to review")
    public_notice_days: int = Field(
        gt=0,
        description="公示 period in calendar days. Provinces usually state working days; "
        "calendar days keep workflows free of a holiday calendar, so a version sets a "
        "figure that covers the working days it stands for.",
    )
    public_notice_seconds_override: int | None = Field(
        default=None,
        ge=0,
        description="Demo and rehearsal versions only: the notice lasts this many seconds "
        "instead of public_notice_days, so a walkthrough reaches issuance in minutes",
    )
    held_recheck_seconds: int = Field(
        default=86_400,
        gt=0,
        description="How often an issuance held by a suspended body is tried again: a "
        "suspension usually lasts weeks, so once a day; demo versions use seconds",
    )
    resit_window_days: int = Field(ge=0, description="Days after a failure a re-sit may be sat")
    max_resits: int = Field(ge=0, description="Re-sits allowed per failed component")
    quality_sample_pct: int = Field(
        ge=0, le=100, description="Share of an enterprise's certificates sampled in supervision"
    )
    staffing: StaffingRules

    @model_validator(mode="after")
    def _marks_in_range(self) -> Self:
        if not self.score_min <= self.pass_mark <= self.score_max:
            raise ValueError("pass_mark must lie between score_min and score_max")
        return self


def _load() -> dict[str, AssessmentPolicy]:
    # Read every version at import so that rules called inside a workflow never do I/O.
    policies: dict[str, AssessmentPolicy] = {}
    folder = files("policy").joinpath("data", "assessment")
    for entry in folder.iterdir():
        if not entry.name.endswith(".json"):
            continue
        policy = AssessmentPolicy.model_validate(json.loads(entry.read_text(encoding="utf-8")))
        if f"{policy.version}.json" != entry.name:
            raise ValueError(f"{entry.name} declares version {policy.version}")
        policies[policy.version] = policy
    return policies


_POLICIES: Final = _load()


class ApplicationFigures(BaseModel):
    """The figures one candidate's application runs under, recorded in its history.

    A subset of ``AssessmentPolicy``: the staffing table and supervision share stay with
    the session and the body, so each of a session's thousands of applications carries a
    few numbers rather than the whole policy.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    score_min: int
    score_max: int
    registration_review_days: int = Field(gt=0)
    public_notice_seconds: int = Field(gt=0)
    held_recheck_seconds: int = Field(gt=0)
    resit_window_days: int = Field(ge=0)
    max_resits: int = Field(ge=0)

    @classmethod
    def of(cls, policy: AssessmentPolicy) -> ApplicationFigures:
        return cls(
            version=policy.version,
            score_min=policy.score_min,
            score_max=policy.score_max,
            registration_review_days=policy.registration_review_days,
            public_notice_seconds=int(public_notice_duration(policy).total_seconds()),
            held_recheck_seconds=policy.held_recheck_seconds,
            resit_window_days=policy.resit_window_days,
            max_resits=policy.max_resits,
        )


class ScoreScale(Protocol):
    @property
    def score_min(self) -> int: ...

    @property
    def score_max(self) -> int: ...


class ResitWindow(Protocol):
    @property
    def resit_window_days(self) -> int: ...


def admit_policy_version(version: str, *, demo_allowed: bool) -> AssessmentPolicy:
    """The policy a new session or filing may name: a demo version only where the stack
    runs for a demo or a test. Running workflows keep loading the version they started
    with (``load_assessment_policy``)."""
    policy = load_assessment_policy(version)
    if policy.demo and not demo_allowed:
        raise RuleViolation(
            "policy_version",
            Rule.POLICY_DEMO_NOT_ALLOWED,
            f"{policy.version} is a demo policy; this service does not admit demo policies",
        )
    return policy


def load_assessment_policy(version: str = DEFAULT_ASSESSMENT_POLICY) -> AssessmentPolicy:
    try:
        return _POLICIES[version]
    except KeyError:
        shown = f" {version}" if _VERSION_SHAPE.fullmatch(version) else ""
        raise RuleViolation(
            "policy_version",
            Rule.POLICY_UNKNOWN_VERSION,
            f"assessment policy version{shown} does not exist",
        ) from None


# --- scores -----------------------------------------------------------------------------


class ComponentOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    passed: bool = Field(description="Every required component scored and passed")
    complete: bool = Field(description="Every required component has a score")
    failed: tuple[str, ...]
    missing: tuple[str, ...]


def validate_score(component: str, score: float | int, policy: ScoreScale) -> None:
    field = f"scores.{component}"
    if component not in _COMPONENTS:
        raise RuleViolation(
            field, Rule.SCORE_COMPONENT, "a score is for theory, practical or review only"
        )
    # bool is an int in Python; a True score is a caller bug, not 1 mark.
    if isinstance(score, bool) or math.isnan(score):
        raise RuleViolation(field, Rule.SCORE_RANGE, f"the {component} score must be a number")
    if not policy.score_min <= score <= policy.score_max:
        raise RuleViolation(
            field,
            Rule.SCORE_RANGE,
            f"the {component} score must be from {policy.score_min} to {policy.score_max}",
        )


def evaluate_components(
    required: tuple[Component, ...], scores: Mapping[str, float], pass_mark: int
) -> ComponentOutcome:
    """A candidate passes when every required component passes; others are ignored."""
    missing = tuple(component for component in required if component not in scores)
    failed = tuple(
        component for component in required if component in scores and scores[component] < pass_mark
    )
    complete = not missing
    return ComponentOutcome(
        passed=complete and not failed, complete=complete, failed=failed, missing=missing
    )


def check_sitting_order(
    component: str, scores: Mapping[str, float], *, theory_before_practical: bool, pass_mark: int
) -> None:
    """Refuse a practical sitting before theory passed, where the standard demands it."""
    if component != "practical" or not theory_before_practical:
        return
    theory = scores.get("theory")
    if theory is None or theory < pass_mark:
        raise RuleViolation(
            "scores.practical",
            Rule.SCORE_THEORY_BEFORE_PRACTICAL,
            "this occupation's standard requires the theory exam passed before the practical",
        )


def effective_pass_mark(
    national: int, enterprise_pass_mark: int | None, *, score_max: int = 100
) -> int:
    """Enterprises may raise the national pass mark, never lower it."""
    if enterprise_pass_mark is None:
        return national
    if enterprise_pass_mark < national:
        raise RuleViolation(
            "pass_mark",
            Rule.ENTERPRISE_PASS_MARK_BELOW_NATIONAL,
            f"an enterprise pass mark may not be below the national pass mark of {national}",
        )
    if enterprise_pass_mark > score_max:
        raise RuleViolation(
            "pass_mark",
            Rule.ENTERPRISE_PASS_MARK_ABOVE_MAX,
            f"an enterprise pass mark may not exceed the maximum score of {score_max}",
        )
    return enterprise_pass_mark


# --- staffing and recusal ---------------------------------------------------------------


class Examiner(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    examiner_id: str
    # Conflict checks never need it; at rest it is sealed apart (sessions.examiner_names_sealed).
    name: str = ""
    grade: ExaminerGrade
    employer: str = Field(description="Current employer's identifier; empty if none")
    former_employers: list[str] = Field(default_factory=list)
    trained_person_keys: list[str] = Field(default_factory=list)
    relatives_person_keys: list[str] = Field(default_factory=list)


class CandidateConflictFacts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    person_key: str
    employer: str = Field(description="Current employer's identifier; empty if none")
    former_employers: list[str] = Field(default_factory=list)


class Recusal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    examiner_id: str
    person_key: str
    reason: RecusalReason


def check_staffing(
    level: int,
    candidates: int,
    theory_rooms: int,
    proctors: int,
    practical_examiners: list[Examiner],
    review_panel: list[Examiner],
    rules: StaffingRules,
    *,
    review_panel_needed: bool,
) -> list[Violation]:
    """Every staffing rule a session breaks; empty when it may run. A review panel is
    checked where the occupation's level has a comprehensive review."""
    if level not in NATIONAL_LEVELS:
        return [Violation(field="level", rule=Rule.LEVEL_RANGE, message="level must be 1-5")]
    violations: list[Violation] = []
    by_candidates = math.ceil(candidates / rules.candidates_per_proctor)
    by_rooms = rules.min_proctors_per_theory_room * theory_rooms
    for needed, rule, why in (
        (
            by_candidates,
            Rule.STAFFING_PROCTORS_PER_CANDIDATES,
            f"{candidates} candidates need at least {by_candidates} proctors "
            f"(one per {rules.candidates_per_proctor})",
        ),
        (
            by_rooms,
            Rule.STAFFING_PROCTORS_PER_ROOM,
            f"{theory_rooms} theory rooms need at least {by_rooms} proctors "
            f"({rules.min_proctors_per_theory_room} per room)",
        ),
    ):
        if proctors < needed:
            violations.append(
                Violation(field="proctors", rule=rule, message=f"{why}, {proctors} assigned")
            )
    violations += _panel_violations(
        "practical_examiners",
        practical_examiners,
        minimum=max(
            math.ceil(candidates / rules.candidates_per_practical_examiner),
            rules.min_practical_examiners,
        ),
        odd=rules.practical_panel_odd,
        level=level,
        rules=rules,
    )
    if review_panel_needed:
        violations += _panel_violations(
            "review_panel",
            review_panel,
            minimum=rules.min_review_panel,
            odd=rules.review_panel_odd,
            level=level,
            rules=rules,
        )
    return violations


def _panel_violations(
    field: str,
    panel: list[Examiner],
    *,
    minimum: int,
    odd: bool,
    level: int,
    rules: StaffingRules,
) -> list[Violation]:
    violations: list[Violation] = []
    size = len(panel)
    if size < minimum:
        violations.append(
            Violation(
                field=field,
                rule=Rule(f"staffing.{field}_too_few"),
                message=f"{field.replace('_', ' ')} need at least {minimum} members, {size} "
                "assigned",
            )
        )
    # An odd panel can always reach a majority when its members disagree.
    if odd and size % 2 == 0:
        violations.append(
            Violation(
                field=field,
                rule=Rule(f"staffing.{field}_even"),
                message=f"{field.replace('_', ' ')} must have an odd number of members, "
                f"{size} assigned",
            )
        )
    if len({examiner.examiner_id for examiner in panel}) != size:
        violations.append(
            Violation(
                field=field,
                rule=Rule.STAFFING_DUPLICATE_EXAMINER,
                message=f"an examiner is listed more than once in {field.replace('_', ' ')}",
            )
        )
    for index, examiner in enumerate(panel):
        if level not in rules.grade_levels[examiner.grade]:
            violations.append(
                Violation(
                    field=f"{field}[{index}].grade",
                    rule=Rule.STAFFING_EXAMINER_GRADE,
                    message=f"examiner {examiner.examiner_id} holds the {examiner.grade} grade, "
                    f"which does not cover level {level}",
                )
            )
    return violations


def recusals(examiners: list[Examiner], candidate: CandidateConflictFacts) -> list[Recusal]:
    """Every conflict of interest between the examiners and one candidate.

    An examiner with several conflicts appears once per reason, since each recusal is
    recorded. Employers are compared as given, so callers pass stable identifiers (e.g.
    unified social credit codes), not free-text names.
    """
    found: list[Recusal] = []
    for examiner in examiners:
        found += _examiner_recusals(examiner, candidate)
    return found


def _examiner_recusals(examiner: Examiner, candidate: CandidateConflictFacts) -> list[Recusal]:
    candidate_employers = {candidate.employer, *candidate.former_employers} - {""}
    reasons: list[RecusalReason] = []
    if candidate.person_key in examiner.relatives_person_keys:
        reasons.append("relative")
    examiner_employers = {examiner.employer, *examiner.former_employers} - {""}
    if candidate_employers & examiner_employers:
        reasons.append("same_employer")
    if candidate.person_key in examiner.trained_person_keys:
        reasons.append("trainer")
    return [
        Recusal(examiner_id=examiner.examiner_id, person_key=candidate.person_key, reason=r)
        for r in reasons
    ]


class ConflictIndex:
    """A session's examiners indexed by the facts that cause a conflict.

    ``recusals`` answers the same as the function of that name, in the same order, but
    looks only at the examiners a candidate could conflict with: a session of 10,000
    candidates has some 2,000 examiners, and scanning them all for every candidate is
    twenty million comparisons.
    """

    def __init__(self, examiners: list[Examiner]) -> None:
        self._examiners = examiners
        self._by_fact: dict[tuple[str, str], list[int]] = {}
        for index, examiner in enumerate(examiners):
            facts = {("employer", e) for e in (examiner.employer, *examiner.former_employers)}
            facts |= {("person", key) for key in examiner.relatives_person_keys}
            facts |= {("person", key) for key in examiner.trained_person_keys}
            for fact in facts - {("employer", "")}:
                self._by_fact.setdefault(fact, []).append(index)

    def __len__(self) -> int:
        return len(self._examiners)

    def recusals(self, candidate: CandidateConflictFacts) -> list[Recusal]:
        facts = {("employer", e) for e in (candidate.employer, *candidate.former_employers)}
        facts.add(("person", candidate.person_key))
        indices = sorted({i for fact in facts for i in self._by_fact.get(fact, [])})
        found: list[Recusal] = []
        for index in indices:
            found += _examiner_recusals(self._examiners[index], candidate)
        return found


# --- rounds -----------------------------------------------------------------------------
# A round is one sitting of every component still to be taken: the first round takes them
# all, a re-sit round the failed and never-sat ones (passed components stand).

RoundOutcome = Literal["passed", "failed"]


def still_to_sit(
    components: Sequence[str], scores: Mapping[str, float], pass_mark: int
) -> list[str]:
    """Of ``components``, those never sat or scored below the mark, in their order."""
    return [c for c in components if c not in scores or scores[c] < pass_mark]


def round_outcome(
    required: Sequence[str],
    scores: Mapping[str, float],
    awaiting: Collection[str],
    *,
    pass_mark: int,
    theory_before_practical: bool,
) -> RoundOutcome | None:
    """The round's outcome once it is complete, else None (scores still awaited)."""
    failing = [c for c in required if c not in awaiting and scores[c] < pass_mark]
    if not awaiting:
        return "failed" if failing else "passed"
    # A failed theory ends the round where the practical may only follow a passed theory.
    if theory_before_practical and "theory" in failing and set(awaiting) <= {"practical"}:
        return "failed"
    return None


class FailedRound(BaseModel):
    """What follows a failed round: a re-sit of ``awaiting``, or a final failure."""

    model_config = ConfigDict(frozen=True)

    failed: list[str]
    resit: bool
    awaiting: list[str]


def after_failed_round(
    required: Sequence[str],
    scores: Mapping[str, float],
    attempts: Mapping[str, int],
    awaiting: Collection[str],
    *,
    pass_mark: int,
    max_resits: int,
    today: date,
    deadline: date,
) -> FailedRound:
    """A re-sit while every failed component has re-sits left and the window is open
    (``deadline`` inclusive); it takes the failed and never-sat components."""
    failed = [c for c in required if c in scores and scores[c] < pass_mark and c not in awaiting]
    resits_left = all(attempts[c] - 1 < max_resits for c in failed)
    if resits_left and today <= deadline:
        return FailedRound(
            failed=failed, resit=True, awaiting=still_to_sit(required, scores, pass_mark)
        )
    return FailedRound(failed=failed, resit=False, awaiting=[])


# --- a session's phases: when it takes approvals, scores, and may close -----------------


class ScoredBy(Protocol):
    """One entry of a score sheet: which component, from which examiner."""

    @property
    def component(self) -> str: ...

    @property
    def examiner_id(self) -> str: ...


def check_examiners(
    entries: Collection[ScoredBy],
    session_status: str,
    panels: Mapping[str, str],
    recused: Collection[str],
) -> None:
    """The examiners of a sheet are assigned to the session, on the right panel, and not
    recused from the candidate; the session takes scores."""
    # A closed session still takes re-sits (补考 is sat after the main sitting); closing
    # waits until no candidate has a first-round score outstanding.
    if session_status not in ("running", "closed"):
        raise RuleViolation(
            "session_id",
            Rule.SESSION_NOT_RUNNING,
            f"the session is {session_status}: scores are taken once it has started",
        )
    for entry in entries:
        field = f"scores.{entry.component}"
        if entry.examiner_id not in panels:
            raise RuleViolation(
                field,
                Rule.SCORE_EXAMINER_NOT_ASSIGNED,
                "the examiner is not assigned to this session",
            )
        if entry.component == "review" and panels[entry.examiner_id] != "review":
            raise RuleViolation(
                field, Rule.SCORE_EXAMINER_PANEL, "review scores come from the review panel"
            )
        if entry.examiner_id in recused:
            raise RuleViolation(
                field,
                Rule.SCORE_EXAMINER_RECUSED,
                "the examiner is recused from this candidate (conflict of interest)",
            )


def check_approval_allowed(session_status: str | None) -> None:
    """Approvals end when the exam starts: staffing was checked against the roster then,
    and a closed session takes no first-round scores."""
    if session_status is not None and session_status != "open":
        raise RuleViolation(
            "decision",
            Rule.REVIEW_SESSION_STARTED,
            f"the session is {session_status}: approve the candidate for a later session "
            "(rejecting is still possible)",
        )


def check_session_may_close(first_round_outstanding: int) -> None:
    """Candidates with a component still unscored would otherwise wait forever, so closing
    waits for their scores (0 for a candidate who did not sit)."""
    if first_round_outstanding:
        raise RuleViolation(
            "session_id",
            Rule.SESSION_SCORES_OUTSTANDING,
            f"{first_round_outstanding} approved candidate(s) still lack a first-round score: "
            "enter their scores (0 for a candidate who did not sit) before closing",
        )


# --- re-sits ----------------------------------------------------------------------------


def resit_deadline(failed_on: date, policy: ResitWindow) -> date:
    """Last day, inclusive, on which a failed component may be re-sat."""
    return failed_on + timedelta(days=policy.resit_window_days)


def resit_allowed(failed_on: date, today: date, resits_used: int, policy: AssessmentPolicy) -> bool:
    return resits_used < policy.max_resits and failed_on <= today <= resit_deadline(
        failed_on, policy
    )


# --- public notice ----------------------------------------------------------------------


def public_notice_duration(policy: AssessmentPolicy) -> timedelta:
    """How long a pass stays in public notice (公示) before the certificate may issue."""
    if policy.public_notice_seconds_override is not None:
        return timedelta(seconds=policy.public_notice_seconds_override)
    return timedelta(days=policy.public_notice_days)
