from datetime import date

from policy.rewards import promotion_policy, promotion_refusal, reward_for, reward_table_on
from policy.rule_ids import Rule


def test_worldskills_2017_rewards_per_medal() -> None:
    on = date(2017, 10, 19)
    amounts = {
        m: reward_for("worldskills", m, on) for m in ("gold", "silver", "bronze", "excellence")
    }
    assert {m: r.amount_fen if r else None for m, r in amounts.items()} == {
        "gold": 30_000_000,
        "silver": 18_000_000,
        "bronze": 12_000_000,
        "excellence": 5_000_000,
    }
    assert all(r is not None and r.rule_version == "worldskills-2017" for r in amounts.values())


def test_no_medal_no_reward() -> None:
    assert reward_for("worldskills", "none", date(2017, 10, 19)) is None


def test_table_is_chosen_by_tier_and_date() -> None:
    assert reward_for("worldskills", "gold", date(2016, 12, 31)) is None
    assert reward_for("enterprise", "gold", date(2025, 1, 1)) is None
    national = reward_table_on("national", date(2025, 1, 1))
    assert national is not None and national.tier == "national"


def test_one_promotion_per_person_per_year() -> None:
    policy = promotion_policy()
    assert policy.max_per_person_per_year == 1
    assert promotion_refusal(0, policy) is None
    assert promotion_refusal(1, policy) == Rule.PROMOTION_ONE_PER_YEAR
