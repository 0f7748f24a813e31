"""Every rule id a refusal, a withheld certificate or a fraud signal may name, defined once.

A rule id is the stable machine code in ``{"field", "rule", "message"}`` answers, in
``RuleViolation`` and in events (``registration.rejected``'s ``rule``, ``certificate.withheld``'s
``rule``, a subsidy's refusal reasons, a fraud signal): clients branch on it, so it never
changes once published. Policy, workflows, activities, consumers, the API and the tests name
rules through this catalogue; ``Rule("body.body_revoked")`` turns a composed id back into a
member and fails on one that is not catalogued.

Only ``request.*`` ids stay outside: they are pydantic's error types (``request.missing``,
``request.string_too_short``, ...) under a fixed prefix.
"""

from __future__ import annotations

from enum import StrEnum


class Rule(StrEnum):
    # --- Identity documents and the catalogue (policy/idnumber.py, policy/catalogue.py)
    CATALOGUE_LEVEL_NOT_OFFERED = "catalogue.level_not_offered"
    CATALOGUE_UNKNOWN_OCCUPATION = "catalogue.unknown_occupation"
    ELIGIBILITY_NO_PATH = "eligibility.no_path"
    ELIGIBILITY_UNKNOWN_TABLE = "eligibility.unknown_table"
    ENTERPRISE_COMMISSION_ENTERPRISE_ONLY = "enterprise.commission_enterprise_only"
    ENTERPRISE_COMMISSION_MISSING = "enterprise.commission_missing"
    ENTERPRISE_NOT_OWN_WORKER = "enterprise.not_own_worker"
    ENTERPRISE_PASS_MARK_ABOVE_MAX = "enterprise.pass_mark_above_max"
    ENTERPRISE_PASS_MARK_BELOW_NATIONAL = "enterprise.pass_mark_below_national"
    ENTERPRISE_PASS_MARK_ENTERPRISE_ONLY = "enterprise.pass_mark_enterprise_only"
    ENTERPRISE_SUB_LEVEL_ENTERPRISE_ONLY = "enterprise.sub_level_enterprise_only"
    ENTERPRISE_SUB_LEVEL_UNMAPPED = "enterprise.sub_level_unmapped"
    ID_NUMBER_BIRTH_DATE = "id_number.birth_date"
    ID_NUMBER_CHECK_CHARACTER = "id_number.check_character"
    ID_NUMBER_FORMAT = "id_number.format"
    ID_NUMBER_MIN_AGE = "id_number.min_age"
    ID_NUMBER_REGION = "id_number.region"
    ID_NUMBER_SEQUENCE = "id_number.sequence"
    LEVEL_RANGE = "level.range"
    POLICY_UNKNOWN_VERSION = "policy.unknown_version"

    # --- Evaluation bodies: filing, status, quality supervision (workflows/evaluation_body.py)
    BODY_ALREADY_FILED = "body.already_filed"
    BODY_BODY_INACTIVE = "body.body_inactive"
    BODY_BODY_REVOKED = "body.body_revoked"
    BODY_CANNOT_REINSTATE = "body.cannot_reinstate"
    BODY_CANNOT_REVOKE = "body.cannot_revoke"
    BODY_CANNOT_SUSPEND = "body.cannot_suspend"
    BODY_CLOSED = "body.closed"
    BODY_NOT_ACTIVE = "body.not_active"
    BODY_NOT_SUBMITTED = "body.not_submitted"
    BODY_OUT_OF_SCOPE = "body.out_of_scope"
    BODY_PROVINCE_UNKNOWN = "body.province_unknown"
    BODY_REJECTION_REASON = "body.rejection_reason"
    BODY_UNKNOWN = "body.unknown"
    QUALITY_ENTERPRISE_ONLY = "quality.enterprise_only"
    QUALITY_NOT_FILED = "quality.not_filed"
    QUALITY_NOT_SAMPLED = "quality.not_sampled"
    QUALITY_SUSPEND_NEEDS_FAILURE = "quality.suspend_needs_failure"

    # --- Exam sessions and their staffing (workflows/exam_session.py, policy/assessment.py)
    SESSION_ALREADY_OPEN = "session.already_open"
    SESSION_CAPACITY_FULL = "session.capacity_full"
    SESSION_CLOSED = "session.closed"
    SESSION_DATES = "session.dates"
    SESSION_NOT_OPEN = "session.not_open"
    SESSION_NOT_RUNNING = "session.not_running"
    SESSION_REGISTRATION_CLOSED = "session.registration_closed"
    SESSION_SCORES_OUTSTANDING = "session.scores_outstanding"
    STAFFING_DUPLICATE_EXAMINER = "staffing.duplicate_examiner"
    STAFFING_EXAMINER_GRADE = "staffing.examiner_grade"
    STAFFING_PRACTICAL_EXAMINERS_EVEN = "staffing.practical_examiners_even"
    STAFFING_PRACTICAL_EXAMINERS_TOO_FEW = "staffing.practical_examiners_too_few"
    STAFFING_PROCTORS_PER_CANDIDATES = "staffing.proctors_per_candidates"
    STAFFING_PROCTORS_PER_ROOM = "staffing.proctors_per_room"
    STAFFING_REVIEW_PANEL_EVEN = "staffing.review_panel_even"
    STAFFING_REVIEW_PANEL_TOO_FEW = "staffing.review_panel_too_few"

    # --- Registration and its review (api/registration.py, workflows/application.py)
    CSV_MISSING_COLUMNS = "csv.missing_columns"
    IMPORT_COLUMNS = "import.columns"
    IMPORT_DATE = "import.date"
    IMPORT_FUTURE_DATE = "import.future_date"
    IMPORT_INTEGER = "import.integer"
    IMPORT_RANGE = "import.range"
    REGISTRATION_CLOSED_IN_SESSION = "registration.closed_in_session"
    REGISTRATION_DUPLICATE = "registration.duplicate"
    REVIEW_DEADLINE = "review.deadline"
    REVIEW_NOT_AWAITING = "review.not_awaiting"
    REVIEW_NOT_HELD = "review.not_held"
    REVIEW_REASON_REQUIRED = "review.reason_required"
    REVIEW_REJECTED = "review.rejected"
    REVIEW_SESSION_STARTED = "review.session_started"

    # --- Scores, rounds and re-sits (workflows/application.py, policy/assessment.py)
    ASSESSMENT_FAILED = "assessment.failed"
    RESIT_WINDOW_LAPSED = "resit.window_lapsed"
    SCORE_ALREADY_SIGNED_OFF = "score.already_signed_off"
    SCORE_COMPONENT = "score.component"
    SCORE_COMPONENT_NOT_REQUIRED = "score.component_not_required"
    SCORE_COMPONENT_PASSED = "score.component_passed"
    SCORE_CORRECTION_CLOSED = "score.correction_closed"
    SCORE_CORRECTION_DUPLICATE = "score.correction_duplicate"
    SCORE_EXAMINER_NOT_ASSIGNED = "score.examiner_not_assigned"
    SCORE_EXAMINER_PANEL = "score.examiner_panel"
    SCORE_EXAMINER_RECUSED = "score.examiner_recused"
    SCORE_NONE = "score.none"
    SCORE_NOT_A_NUMBER = "score.not_a_number"
    SCORE_NOT_OPEN = "score.not_open"
    SCORE_NOT_SIGNED_OFF = "score.not_signed_off"
    SCORE_RANGE = "score.range"
    SCORE_THEORY_BEFORE_PRACTICAL = "score.theory_before_practical"
    SCORE_UNCHANGED = "score.unchanged"

    # --- Public notice and certificates (workflows/application.py, activities/certificate.py)
    APPLICATION_CLOSED = "application.closed"
    CERTIFICATE_ALREADY_REVOKED = "certificate.already_revoked"
    CERTIFICATE_REVOCATION_IN_PROGRESS = "certificate.revocation_in_progress"
    CERTIFICATE_NUMBER_BODY_CODE = "certificate_number.body_code"
    CERTIFICATE_NUMBER_BODY_TYPE = "certificate_number.body_type"
    CERTIFICATE_NUMBER_FORMAT = "certificate_number.format"
    CERTIFICATE_NUMBER_ISSUE_YEAR = "certificate_number.issue_year"
    CERTIFICATE_NUMBER_LEVEL = "certificate_number.level"
    CERTIFICATE_NUMBER_PRIOR_FORMAT = "certificate_number.prior_format"
    CERTIFICATE_NUMBER_PROVINCE_CODE = "certificate_number.province_code"
    CERTIFICATE_NUMBER_SERIAL = "certificate_number.serial"
    CERTIFICATE_NUMBER_SITE_SERIAL = "certificate_number.site_serial"
    CREDENTIAL_IMPORTED = "credential.imported"
    OBJECTION_DUPLICATE = "objection.duplicate"
    OBJECTION_NOT_IN_NOTICE = "objection.not_in_notice"
    OBJECTION_NOTICE_OVER = "objection.notice_over"
    OBJECTION_RESOLVED = "objection.resolved"
    OBJECTION_UNKNOWN = "objection.unknown"
    OBJECTION_UPHELD = "objection.upheld"

    # --- Certificates from before SkillFlow (api/prior_certificates.py)
    IMPORT_CHECKED_ON = "import.checked_on"
    IMPORT_ISSUED_HERE = "import.issued_here"
    IMPORT_NUMBER_CONFLICT = "import.number_conflict"

    # --- Incentives: subsidies, appraisal fees, promotions, fraud signals (consumers/incentives)
    APPRAISAL_CERTIFICATE_REVOKED = "appraisal.certificate_revoked"
    APPRAISAL_FIRST_APPRAISAL_ONLY = "appraisal.first_appraisal_only"
    APPRAISAL_INELIGIBLE_GROUP = "appraisal.ineligible_group"
    APPRAISAL_NO_FEE = "appraisal.no_fee"
    APPRAISAL_NO_POLICY = "appraisal.no_policy"
    FRAUD_ABNORMAL_PASS_RATE = "fraud.abnormal_pass_rate"
    FRAUD_CONCURRENT_SESSIONS = "fraud.concurrent_sessions"
    FRAUD_PHANTOM_TRAINEE = "fraud.phantom_trainee"
    FRAUD_RETIREMENT_AGE = "fraud.retirement_age"
    FRAUD_SCORE_EDITED_AFTER_SIGN_OFF = "fraud.score_edited_after_sign_off"
    PROMOTION_ONE_PER_YEAR = "promotion.one_per_year"
    RECONSIDER_NOT_RECONSIDERABLE = "reconsider.not_reconsiderable"
    SUBSIDY_ANNUAL_LIMIT = "subsidy.annual_limit"
    SUBSIDY_CERTIFICATE_REVOKED = "subsidy.certificate_revoked"
    SUBSIDY_CERTIFICATE_UNVERIFIED = "subsidy.certificate_unverified"
    SUBSIDY_CLAIM_WINDOW = "subsidy.claim_window"
    SUBSIDY_COMBINED_WITH_TRAINING_SUBSIDY = "subsidy.combined_with_training_subsidy"
    SUBSIDY_INSURED_MONTHS = "subsidy.insured_months"
    SUBSIDY_LEVEL_NOT_COVERED = "subsidy.level_not_covered"
    SUBSIDY_LOWER_AFTER_HIGHER = "subsidy.lower_after_higher"
    SUBSIDY_NO_POLICY = "subsidy.no_policy"
    SUBSIDY_ONCE_PER_OCCUPATION_LEVEL = "subsidy.once_per_occupation_level"

    # --- Any request: who may act (api/access.py, store/tokens.py), and what exists
    ACCESS_NOT_IN_SESSION = "access.not_in_session"
    NOT_FOUND = "not_found"
    TOKEN_BODIES_NOT_APPLICABLE = "token.bodies_not_applicable"
    TOKEN_NAME_IN_USE = "token.name_in_use"
    TOKEN_UNBOUND = "token.unbound"
