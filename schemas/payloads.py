"""Every event payload, grouped by the topic it travels on.

Adding a field is fine within a schema version (give it a default); renaming or removing
one needs a new ``schema_version`` that consumers accept side by side with the old one.
Amounts are integer fen (0.01 yuan) so no float ever touches money.

No free text travels: a person's reasons (a reviewer's rejection, a correction's, an
objection's resolution, a revocation's or a suspension's) may name people or describe them,
so events carry the rule id or code and the free text stays in its PostgreSQL table, where
the audit trail reads it. The old free-text fields stay in the schema (empty, ``FREE_TEXT``
below) so version-1 readers keep validating; reasons that code writes from a rule (a
subsidy refused, a promotion refused) are not free text and stay.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from schemas.evaluation_body import BodyType
from schemas.events import EventPayload, register_event
from schemas.topics import Topic

Level = Annotated[int, Field(ge=1, le=5)]  # 1 (高级技师) .. 5 (初级工)
Component = Literal["theory", "practical", "review"]
CertificateNumber = Annotated[str, Field(pattern=r"^[YS]\d{21}$")]
# A person's free text stays in PostgreSQL; the field stays for version-1 readers.
FreeText = Annotated[str, Field(description="no longer filled (free text stays in PostgreSQL)")]
FreeTextOfRule = Annotated[
    str, Field(description="no longer filled (free text stays in PostgreSQL); see rule")
]


class _RuleRefusal(EventPayload):
    """A refusal by a rule, named by its id; the person's reason stays in PostgreSQL."""

    rule: str
    reason: FreeTextOfRule = ""


class _RuleDecision(EventPayload):
    """A refusal the code decided by a rule of a versioned rule set (its reason is the
    rule's, not free text)."""

    rule: str
    reason: str
    rule_version: str


# --- skills.registration ----------------------------------------------------------------


class _Registration(EventPayload):
    topic: ClassVar[Topic] = Topic.REGISTRATION
    application_id: str
    session_id: str


CandidateCategory = Literal[
    "employed",
    "registered_unemployed",
    "migrant_worker",
    "graduating_student",
    "full_time_student",
    "retired",
    "other",
]


@register_event
class RegistrationSubmitted(_Registration):
    event_type: ClassVar[str] = "registration.submitted"
    body_id: str
    occupation_code: str
    level: Level
    # Facts the incentive service's subsidy and fraud rules need, without the ID number:
    candidate_age: int = Field(ge=0, le=130)
    candidate_category: CandidateCategory = "employed"
    appraisal_fee_fen: int = Field(0, ge=0)
    first_appraisal: bool = True


@register_event
class RegistrationApproved(_Registration):
    event_type: ClassVar[str] = "registration.approved"
    eligibility_path: str


@register_event
class RegistrationRejected(_RuleRefusal, _Registration):
    event_type: ClassVar[str] = "registration.rejected"


@register_event
class RegistrationExpired(_Registration):
    event_type: ClassVar[str] = "registration.expired"


# --- skills.assessment ------------------------------------------------------------------


@register_event
class SessionOpened(EventPayload):
    topic: ClassVar[Topic] = Topic.ASSESSMENT
    event_type: ClassVar[str] = "session.opened"
    session_id: str
    body_id: str
    occupation_code: str
    level: Level
    capacity: int = Field(ge=1)
    exam_date: date


@register_event
class SessionStarted(EventPayload):
    """Staffing held for the approved roster; the exam runs and takes scores."""

    topic: ClassVar[Topic] = Topic.ASSESSMENT
    event_type: ClassVar[str] = "session.started"
    session_id: str


@register_event
class SessionClosed(EventPayload):
    """Every first-round score is in; only re-sits follow."""

    topic: ClassVar[Topic] = Topic.ASSESSMENT
    event_type: ClassVar[str] = "session.closed"
    session_id: str


@register_event
class ExaminerRecused(EventPayload):
    topic: ClassVar[Topic] = Topic.ASSESSMENT
    event_type: ClassVar[str] = "examiner.recused"
    session_id: str
    examiner_id: str
    reason: Literal["same_employer", "relative", "trainer"]


@register_event
class ComponentScored(_Registration):
    topic: ClassVar[Topic] = Topic.ASSESSMENT
    event_type: ClassVar[str] = "assessment.component_scored"
    component: Component
    score: float = Field(ge=0, le=100)
    attempt: int = Field(ge=1)
    examiner_id: str


@register_event
class ScoreCorrected(_Registration):
    topic: ClassVar[Topic] = Topic.ASSESSMENT
    event_type: ClassVar[str] = "assessment.score_corrected"
    component: Component
    previous_score: float
    new_score: float = Field(ge=0, le=100)
    reason: FreeText = ""
    corrected_by: str


class AssessmentResult(_Registration):
    """The result of a candidate's assessment round: where, in what, and the scores."""

    topic: ClassVar[Topic] = Topic.ASSESSMENT
    body_id: str
    occupation_code: str
    level: Level
    scores: dict[str, float]


@register_event
class AssessmentPassed(AssessmentResult):
    event_type: ClassVar[str] = "assessment.passed"
    passed_on: date


@register_event
class AssessmentFailed(AssessmentResult):
    event_type: ClassVar[str] = "assessment.failed"
    failed_components: list[str]
    resit_deadline: date | None


# --- skills.certificate -----------------------------------------------------------------


class _Certificate(EventPayload):
    topic: ClassVar[Topic] = Topic.CERTIFICATE
    application_id: str


@register_event
class PublicNoticeStarted(_Certificate):
    event_type: ClassVar[str] = "certificate.notice_started"
    notice_ends_on: date


@register_event
class ObjectionRaised(_Certificate):
    event_type: ClassVar[str] = "certificate.objection_raised"
    objection_id: str


@register_event
class ObjectionResolved(_Certificate):
    event_type: ClassVar[str] = "certificate.objection_resolved"
    objection_id: str
    upheld: bool
    resolution: FreeText = ""


@register_event
class CertificateIssued(_Certificate):
    event_type: ClassVar[str] = "certificate.issued"
    certificate_number: CertificateNumber
    body_id: str
    body_type: BodyType
    occupation_code: str
    level: Level
    issued_on: date
    holder_name_masked: str
    route: Literal["assessment", "promotion"] = "assessment"


@register_event
class CertificateWithheld(_RuleRefusal, _Certificate):
    event_type: ClassVar[str] = "certificate.withheld"


@register_event
class CertificateRevoked(EventPayload):
    topic: ClassVar[Topic] = Topic.CERTIFICATE
    event_type: ClassVar[str] = "certificate.revoked"
    certificate_number: CertificateNumber
    reason: FreeText = ""
    revoked_on: date


@register_event
class CertificateImported(EventPayload):
    """A certificate from before SkillFlow, imported by the records officer: it counts
    wherever a certificate counts, but earns no subsidy claim here."""

    topic: ClassVar[Topic] = Topic.CERTIFICATE
    event_type: ClassVar[str] = "certificate.imported"
    certificate_number: str = Field(min_length=8, max_length=40, description="as written")
    occupation_code: str
    level: Level
    issuing_body: str = Field(min_length=1)
    issued_on: date
    holder_name_masked: str
    checked_against: str = Field(min_length=1, description="where it was checked")
    checked_on: date


# --- skills.evaluation-body -------------------------------------------------------------


class BodyEvent(EventPayload):
    """Base of every event about an evaluation body."""

    topic: ClassVar[Topic] = Topic.EVALUATION_BODY
    body_id: str


@register_event
class BodyFiled(BodyEvent):
    event_type: ClassVar[str] = "body.filed"
    body_type: BodyType
    name: str
    province_code: str
    scope: list[str] = Field(description="'occupation_code:level' pairs")


@register_event
class BodyApproved(BodyEvent):
    event_type: ClassVar[str] = "body.approved"
    filing_receipt: str


class BodyStatusChanged(BodyEvent):
    """Base of a change of a body's filing status made for a reason (kept in PostgreSQL)."""

    reason: FreeText = ""


@register_event
class BodyRejected(BodyStatusChanged):
    event_type: ClassVar[str] = "body.rejected"


@register_event
class BodySuspended(BodyStatusChanged):
    event_type: ClassVar[str] = "body.suspended"


@register_event
class BodyReinstated(BodyStatusChanged):
    event_type: ClassVar[str] = "body.reinstated"


@register_event
class BodyRevoked(BodyStatusChanged):
    event_type: ClassVar[str] = "body.revoked"


@register_event
class CommissionRecorded(BodyEvent):
    """An enterprise may evaluate a client's workers under this contract until it ends."""

    event_type: ClassVar[str] = "body.commission_recorded"
    commission_id: str
    client: str
    valid_until: date


@register_event
class QualitySampled(BodyEvent):
    """The regulator drew certificates of an enterprise for quality review."""

    event_type: ClassVar[str] = "body.quality_sampled"
    sample_id: str
    certificate_numbers: list[str]


@register_event
class QualityReviewed(BodyEvent):
    event_type: ClassVar[str] = "body.quality_reviewed"
    certificate_number: CertificateNumber
    passed: bool
    finding: str


# --- skills.competition -----------------------------------------------------------------


class CompetitionEvent(EventPayload):
    """Base of every event about a competition: its workflow is the competition's."""

    topic: ClassVar[Topic] = Topic.COMPETITION
    competition_id: str


class _OfCompetition(CompetitionEvent):
    """An event that names the competition's tier and occupation, so that a consumer (a
    reward, a title, a promotion) decides without looking the competition up."""

    tier: str
    occupation_code: str


EntrySource = Literal["open", "advanced", "nominated"]


@register_event
class CompetitionEntryAccepted(_OfCompetition):
    event_type: ClassVar[str] = "competition.entry_accepted"
    category: str
    source: EntrySource
    entry_sequence: int = Field(ge=1)


@register_event
class CompetitionEntryRefused(CompetitionEvent):
    """An entry of a valid ID number refused by a competition rule (named in ``rule``)."""

    event_type: ClassVar[str] = "competition.entry_refused"
    tier: str
    rule: str
    reason: str


@register_event
class CompetitionMarksLocked(CompetitionEvent):
    """A module's marks were signed off: they change only by an audited correction."""

    event_type: ClassVar[str] = "competition.marks_locked"
    module_id: str
    competitors: int = Field(ge=0)
    marks: int = Field(ge=0)


@register_event
class CompetitionResultsPublished(_OfCompetition):
    event_type: ClassVar[str] = "competition.results_published"
    field_size: int = Field(ge=0)
    rule_version: str
    published_on: date


@register_event
class CompetitionResultRecorded(_OfCompetition):
    event_type: ClassVar[str] = "competition.result_recorded"
    rank: int = Field(ge=1)
    field_size: int = Field(ge=1)
    medal: Literal["gold", "silver", "bronze", "excellence", "none"]
    score: float
    competed_on: date
    # Added within version 1 (defaults keep older producers valid): 优胜奖 is "merit".
    award: Literal["gold", "silver", "bronze", "excellence", "merit", "none"] = "none"
    scale_score: int | None = None
    category: str = "workers"


@register_event
class CompetitorAdvanced(CompetitionEvent):
    """A qualifier of this competition was entered for (or qualified for) the next tier's."""

    event_type: ClassVar[str] = "competition.competitor_advanced"
    tier: str
    to_competition_id: str
    rank: int = Field(ge=1)


@register_event
class TitleAwarded(_OfCompetition):
    event_type: ClassVar[str] = "title.awarded"
    title: str = Field(description="e.g. 全国技术能手, from the rule set's title table")
    awarded_on: date
    rule_version: str


@register_event
class PromotionGranted(_OfCompetition):
    event_type: ClassVar[str] = "promotion.granted"
    promotion_id: str
    to_level: Level
    issuing_body_id: str
    holder_name_masked: str
    granted_on: date
    rule_version: str


# --- skills.incentive -------------------------------------------------------------------


class _Incentive(EventPayload):
    topic: ClassVar[Topic] = Topic.INCENTIVE


SubsidyKind = Literal["skill_upgrade", "appraisal"]


class _Claim(_Incentive):
    """A subsidy claim: one per certificate and kind."""

    claim_id: str
    kind: SubsidyKind
    certificate_number: str


@register_event
class SubsidyGranted(_Claim):
    event_type: ClassVar[str] = "subsidy.granted"
    amount_fen: int = Field(ge=0)
    rule_version: str


@register_event
class SubsidyRefused(_RuleDecision, _Claim):
    event_type: ClassVar[str] = "subsidy.refused"


@register_event
class SubsidyHeld(_Claim):
    event_type: ClassVar[str] = "subsidy.held"
    amount_fen: int = Field(ge=0)
    signals: list[str]


@register_event
class SubsidyReviewed(_Incentive):
    event_type: ClassVar[str] = "subsidy.reviewed"
    claim_id: str
    released: bool
    reviewer: str
    reason: FreeText = ""


@register_event
class SubsidyClawedBack(_Incentive):
    event_type: ClassVar[str] = "subsidy.clawed_back"
    claim_id: str
    certificate_number: str
    amount_fen: int = Field(ge=0)
    reason: str = Field(description="why, from the rule (never the revocation's free text)")


@register_event
class RewardGranted(_Incentive):
    event_type: ClassVar[str] = "reward.granted"
    competition_id: str
    medal: str
    amount_fen: int = Field(ge=0)
    rule_version: str


@register_event
class PromotionRefused(_RuleDecision, _Incentive):
    """A competition promotion the incentive service did not turn into a certificate."""

    event_type: ClassVar[str] = "promotion.refused"
    promotion_id: str
    competition_id: str
    occupation_code: str
    to_level: Level


@register_event
class TitleEligible(_Incentive):
    event_type: ClassVar[str] = "title.eligible"
    title: Literal["assistant_engineer", "engineer", "senior_engineer"]
    occupation_code: str
    level: Level
    certificate_number: str
    held_since: date


# (event type, field): free text that producers no longer fill; a test holds them to it.
FREE_TEXT: frozenset[tuple[str, str]] = frozenset(
    {
        (RegistrationRejected.event_type, "reason"),
        (ScoreCorrected.event_type, "reason"),
        (ObjectionResolved.event_type, "resolution"),
        (CertificateWithheld.event_type, "reason"),
        (CertificateRevoked.event_type, "reason"),
        (BodyRejected.event_type, "reason"),
        (BodySuspended.event_type, "reason"),
        (BodyReinstated.event_type, "reason"),
        (BodyRevoked.event_type, "reason"),
        (SubsidyReviewed.event_type, "reason"),
    }
)
