from datetime import date
from decimal import Decimal

import pytest

from policy.competition import (
    TIERS,
    Aspect,
    CompetitorTotals,
    MarkingScheme,
    Module,
    Placing,
    ScaleFormula,
    SquadStanding,
    advancing,
    aspect_marks,
    aspect_status,
    award_for,
    check_mark,
    check_marking_scheme,
    check_squad_rounds,
    check_worldskills_age,
    default_rule_version,
    judge_conflicts,
    may_feed,
    promotion_level,
    rank,
    rule_set,
    rule_set_versions,
    squad_cut,
    titles_for,
    worldskills_age_cap,
    worldskills_scale,
)
from policy.errors import RuleViolation

D = Decimal
JUDGEMENT = Aspect(aspect_id="C1", kind="judgement", max_mark=D(4))
MEASUREMENT = Aspect(aspect_id="B1", kind="measurement", max_mark=D(5))


def _field(*totals: float | str) -> list[CompetitorTotals]:
    return [
        CompetitorTotals(person_key=f"p{i}", entry_sequence=i, total=D(str(t)))
        for i, t in enumerate(totals, start=1)
    ]


def _rule(code: str, call: object) -> str:
    with pytest.raises(RuleViolation) as refused:
        call()  # type: ignore[operator]
    return refused.value.rule


def test_every_tier_has_a_rule_set_and_the_ladder_feeds_upward() -> None:
    tiers = {rule_set(v).tier for v in rule_set_versions()}
    assert tiers == set(TIERS)
    assert TIERS[0] == "enterprise" and TIERS[-1] == "worldskills"
    city, class1, national = (
        rule_set(default_rule_version(t)) for t in ("city", "provincial_class1", "national")
    )
    assert may_feed(city, class1) and may_feed(class1, national)
    assert not may_feed(national, city) and not may_feed(city, national)


def test_scheme_must_total_100_with_theory_at_most_30_percent() -> None:
    def scheme(theory: int, practical: int) -> MarkingScheme:
        return MarkingScheme(
            modules=(
                Module(
                    module_id="A",
                    kind="theory",
                    aspects=(Aspect(aspect_id="A1", kind="measurement", max_mark=D(theory)),),
                ),
                Module(
                    module_id="B",
                    aspects=(Aspect(aspect_id="B1", kind="measurement", max_mark=D(practical)),),
                ),
            )
        )

    check_marking_scheme(scheme(30, 70), 30)
    assert _rule("", lambda: check_marking_scheme(scheme(31, 69), 30)) == "scheme.theory_share"
    assert _rule("", lambda: check_marking_scheme(scheme(30, 60), 30)) == "scheme.total"


def test_worldskills_age_cap_boundary_per_edition_and_skill() -> None:
    assert worldskills_age_cap(2017, "cooking") == 22
    assert worldskills_age_cap(2017, "mechatronics") == 25
    assert worldskills_age_cap(2024, "cooking") == 23  # Lyon 2024
    assert worldskills_age_cap(2024, "mechatronics") == 26
    assert worldskills_age_cap(2026, "cooking") == 23  # latest earlier edition
    check_worldskills_age(date(2001, 1, 1), 2024, "cooking")  # born on 1 January: in
    assert _rule("", lambda: check_worldskills_age(date(2000, 12, 31), 2024, "cooking")) == (
        "entry.worldskills_age"
    )
    check_worldskills_age(date(1998, 1, 1), 2024, "mechatronics")
    assert _rule("", lambda: check_worldskills_age(date(1997, 12, 31), 2024, "mechatronics")) == (
        "entry.worldskills_age"
    )
    assert _rule("", lambda: worldskills_age_cap(1990, "cooking")) == "worldskills.unknown_edition"


def test_marks_are_range_checked() -> None:
    check_mark(JUDGEMENT, D(3))
    assert _rule("", lambda: check_mark(JUDGEMENT, D(4))) == "mark.judgement_range"
    assert _rule("", lambda: check_mark(JUDGEMENT, D("1.5"))) == "mark.judgement_range"
    check_mark(MEASUREMENT, D("4.25"))
    assert _rule("", lambda: check_mark(MEASUREMENT, D("5.01"))) == "mark.measurement_range"
    assert _rule("", lambda: check_mark(MEASUREMENT, D(-1))) == "mark.measurement_range"
    assert _rule("", lambda: check_mark(MEASUREMENT, D("1.001"))) == "mark.precision"
    assert _rule("", lambda: check_mark(MEASUREMENT, D("NaN"))) == "mark.not_a_number"
    assert _rule("", lambda: check_mark(MEASUREMENT, D("Infinity"))) == "mark.not_a_number"


def test_judges_more_than_one_point_apart_must_remark() -> None:
    assert aspect_status(JUDGEMENT, [D(2), D(3)]) == "incomplete"
    assert aspect_status(JUDGEMENT, [D(1), D(2), D(2)]) == "accepted"
    assert aspect_status(JUDGEMENT, [D(1), D(2), D(3)]) == "remark_required"
    assert aspect_status(MEASUREMENT, [D(5)]) == "accepted"
    assert aspect_status(MEASUREMENT, []) == "incomplete"
    assert aspect_marks(JUDGEMENT, [D(3), D(3), D(3)]) == D(4)
    assert aspect_marks(JUDGEMENT, [D(2), D(2), D(3)]) == D("3.11")  # 4 x 7/9
    assert aspect_marks(MEASUREMENT, [D("3.5")]) == D("3.5")


def test_conflicts_on_the_tier_s_fields() -> None:
    judge = {"employer": "E1", "region": "2101"}
    assert judge_conflicts(judge, {"employer": "E1", "region": "3301"}, ("employer",)) == [
        "employer"
    ]
    assert judge_conflicts(judge, {"employer": "E2", "region": "2101"}, ("employer",)) == []
    assert judge_conflicts(judge, {"employer": "E2", "region": "2101"}, ("employer", "region")) == [
        "region"
    ]
    assert judge_conflicts({"employer": ""}, {"employer": ""}, ("employer",)) == []


def test_scale_puts_the_median_at_700_on_known_sets() -> None:
    formula = ScaleFormula(version="t", description="", centre=700, points_per_sd=D(50))
    # median 70, population sd sqrt(200) = 14.142: 50 -> 700 - 70.71
    assert worldskills_scale([D(50), D(60), D(70), D(80), D(90)], formula) == [
        629,
        665,
        700,
        735,
        771,
    ]
    assert worldskills_scale([D(40), D(40)], formula) == [700, 700]
    assert worldskills_scale([D(60), D(70), D(80), D(90)], formula)[1:3] == [
        678,
        722,
    ]  # median 75, sd 11.18
    assert worldskills_scale([], formula) == []


def test_no_tied_medals_where_the_tier_forbids_them() -> None:
    national = rule_set("national-2024")
    placings = rank(_field(80, 90, 90, 70), national)
    # Equal totals: the tie-break ends on entry order, so the earlier entrant places higher.
    assert [(p.person_key, p.rank, p.award) for p in placings] == [
        ("p2", 1, "gold"),
        ("p3", 2, "silver"),
        ("p1", 3, "bronze"),
        ("p4", 4, "none"),
    ]


def test_practical_marks_break_a_tie_before_entry_order() -> None:
    national = rule_set("national-2024")
    field = [
        CompetitorTotals(person_key="a", entry_sequence=1, total=D(90), practical=D(60)),
        CompetitorTotals(person_key="b", entry_sequence=2, total=D(90), practical=D(70)),
    ]
    assert [p.person_key for p in rank(field, national)] == ["b", "a"]


def test_ties_share_a_place_where_the_tier_allows() -> None:
    enterprise = rule_set("enterprise-2024")
    placings = rank(_field(90, 90, 80, 70), enterprise)
    assert [(p.rank, p.award) for p in placings] == [
        (1, "gold"),
        (1, "gold"),
        (3, "bronze"),
        (4, "none"),
    ]


def test_merit_award_for_the_rest_of_the_top_half() -> None:
    national = rule_set("national-2024")
    ten = rank(_field(*range(100, 90, -1)), national)
    assert [p.award for p in ten] == ["gold", "silver", "bronze", "merit", "merit"] + ["none"] * 5
    seven = rank(_field(*range(100, 93, -1)), national)  # top half of 7 is 3 places
    assert [p.award for p in seven][3:] == ["none"] * 4


def test_medallion_at_700_not_699() -> None:
    rules = rule_set("worldskills-2024").awards
    assert award_for(5, 20, 700, rules) == "excellence"
    assert award_for(5, 20, 699, rules) == "none"
    assert award_for(2, 20, 650, rules) == "silver"  # a medal, not a medallion


def test_quota_advances_the_first_places() -> None:
    class1 = rule_set("provincial_class1-2024")  # quota 2
    placings = rank(_field(70, 90, 80), class1)
    assert [p.person_key for p in advancing(placings, class1)] == ["p2", "p3"]


def _placing(rank_: int, award: str = "none") -> Placing:
    return Placing(person_key="p", rank=rank_, total=D(50), award=award)


def test_promotion_tables_per_tier_and_category_students_capped() -> None:
    class1 = rule_set("provincial_class1-2024")  # top 10 -> 技师 (level 2)
    assert promotion_level(_placing(10), 30, "workers", 3, class1) == 2
    assert promotion_level(_placing(11), 30, "workers", 3, class1) is None
    assert promotion_level(_placing(1), 30, "workers", 2, class1) == 1  # 技师 -> 高级技师
    assert promotion_level(_placing(1), 30, "students", None, class1) == 3  # capped at 高级工
    assert promotion_level(_placing(1), 30, "students", 3, class1) is None  # nothing above cap
    national = rule_set("national-2024")  # 优胜奖 and above: one level
    assert promotion_level(_placing(4, "merit"), 10, "workers", 3, national) == 2
    assert promotion_level(_placing(6), 10, "workers", 3, national) is None
    assert promotion_level(_placing(1, "gold"), 10, "workers", None, national) == 5
    enterprise = rule_set("enterprise-2024")  # top 30%
    assert promotion_level(_placing(3), 10, "workers", 4, enterprise) == 3
    assert promotion_level(_placing(4), 10, "workers", 4, enterprise) is None


def test_titles_from_data() -> None:
    national = rule_set("national-2024")
    assert titles_for(_placing(5, "merit"), 20, "workers", national) == ["全国技术能手"]
    assert titles_for(_placing(6, "merit"), 20, "workers", national) == []
    worldskills = rule_set("worldskills-2024")
    assert titles_for(_placing(1, "gold"), 20, "workers", worldskills) == ["全国技术能手"]
    assert promotion_level(_placing(1, "gold"), 20, "workers", 3, worldskills) == 1
    assert titles_for(_placing(2, "silver"), 20, "workers", worldskills) == []


def test_squad_rounds_narrow_to_one_per_skill() -> None:
    selection = rule_set("worldskills_selection-2024")
    assert selection.rounds_for("cooking") == (10, 5, 2, 1)
    assert selection.rounds_for("manufacturing-team-challenge") == (12, 6, 3, 1)
    check_squad_rounds((10, 5, 2, 1))
    for bad in ((10, 5, 2), (10, 10, 1), (5, 8, 1)):
        with pytest.raises(ValueError, match="narrow"):
            check_squad_rounds(bad)


def test_squad_cut_keeps_the_best_and_breaks_ties_by_standing() -> None:
    standings = [
        SquadStanding(member=7, seed=3, score=D(80)),
        SquadStanding(member=4, seed=1, score=D(80)),
        SquadStanding(member=9, seed=2, score=D(95)),
        SquadStanding(member=2, seed=4, score=D(60)),
    ]
    assert squad_cut(standings, 2) == ([9, 4], [7, 2])
