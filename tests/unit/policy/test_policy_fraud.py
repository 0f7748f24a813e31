from policy.fraud import (
    ABNORMAL_PASS_RATE,
    CONCURRENT_SESSIONS,
    PHANTOM_TRAINEE,
    RETIREMENT_AGE,
    SCORE_EDITED_AFTER_SIGN_OFF,
    BodyRecord,
    PaymentFacts,
    fraud_policy,
    fraud_signals,
)


def _signals(**facts: object) -> list[str]:
    return fraud_signals(PaymentFacts.model_validate({"subsidy_kind": "skill_upgrade"} | facts))


def test_clean_claim_raises_nothing() -> None:
    assert (
        _signals(
            candidate_category="employed", candidate_age=35, body=BodyRecord(passed=20, assessed=40)
        )
        == []
    )


def test_retirees_and_full_time_students_are_phantom_trainees() -> None:
    assert _signals(candidate_category="retired") == [PHANTOM_TRAINEE]
    assert _signals(candidate_category="full_time_student") == [PHANTOM_TRAINEE]
    assert _signals(candidate_category="graduating_student") == []


def test_phantom_categories_are_per_subsidy_kind() -> None:
    facts = PaymentFacts(subsidy_kind="appraisal", candidate_category="full_time_student")
    assert fraud_signals(facts) == [PHANTOM_TRAINEE]
    assert fraud_signals(facts.model_copy(update={"subsidy_kind": "other"})) == []


def test_retirement_age() -> None:
    age = fraud_policy().retirement_age
    assert _signals(candidate_age=age - 1) == []
    assert _signals(candidate_age=age) == [RETIREMENT_AGE]


def test_same_id_in_several_sessions() -> None:
    assert _signals(concurrent_sessions=True) == [CONCURRENT_SESSIONS]


def test_score_edit_after_sign_off() -> None:
    assert _signals(score_edited_after_sign_off=True) == [SCORE_EDITED_AFTER_SIGN_OFF]


def test_abnormal_pass_rate_needs_volume() -> None:
    policy = fraud_policy()
    volume = policy.min_volume_for_pass_rate
    assert _signals(body=BodyRecord(passed=volume, assessed=volume)) == [ABNORMAL_PASS_RATE]
    assert _signals(body=BodyRecord(passed=volume - 1, assessed=volume - 1)) == []
    assert _signals(body=BodyRecord(passed=volume // 2, assessed=volume)) == []


def test_signals_accumulate_in_a_fixed_order() -> None:
    signals = _signals(candidate_category="retired", candidate_age=70, concurrent_sessions=True)
    assert signals == [PHANTOM_TRAINEE, RETIREMENT_AGE, CONCURRENT_SESSIONS]
