"""Competition rules (职业技能竞赛): tiers, entry rules, marking, ranking, awards, advancement,
promotions and titles, all from versioned rule sets in ``data/competition/``.

A competition is created from a tier's rule set and keeps its version, so a later table never
changes a running competition. Pure functions only: the workflow, the activities and the API
all call them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from policy.errors import RuleViolation
from policy.rule_ids import Rule
from policy.versioned_data import named_by_version, policy_files, read_policy_file

Tier = Literal[
    "enterprise",
    "city",
    "provincial_class2",
    "provincial_class1",
    "national",
    "worldskills_selection",
    "worldskills",
]
# Lowest to highest: each tier qualifies entrants for the next.
TIERS: Final[tuple[Tier, ...]] = get_args(Tier)
Category = Literal["workers", "students", "teams"]
AspectKind = Literal["measurement", "judgement"]
ModuleKind = Literal["theory", "practical"]
Award = Literal["gold", "silver", "bronze", "excellence", "merit", "none"]
Medal = Literal["gold", "silver", "bronze", "excellence", "none"]
TieBreakKey = Literal["total", "practical", "judgement", "measurement", "entry_sequence"]
ConflictField = Literal["employer", "region"]

JUDGEMENT_SCORES: Final = (0, 1, 2, 3)
JUDGES_PER_JUDGEMENT: Final = 3
MARKS_TOTAL: Final = Decimal(100)

_SCALE_FILE: Final = "worldskills-scale.json"
_AGES_FILE: Final = "worldskills-ages.json"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- marking scheme ---------------------------------------------------------------------


class Aspect(_Frozen):
    aspect_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
    kind: AspectKind
    max_mark: Decimal = Field(gt=0, le=100, decimal_places=2)
    description: str = Field("", max_length=200)


class Module(_Frozen):
    module_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
    kind: ModuleKind = "practical"
    aspects: tuple[Aspect, ...] = Field(min_length=1, max_length=200)

    @property
    def max_marks(self) -> Decimal:
        return sum((a.max_mark for a in self.aspects), Decimal(0))


class MarkingScheme(_Frozen):
    """Aspects totalling 100 marks, grouped in modules; theory at most ``theory_max_pct``."""

    modules: tuple[Module, ...] = Field(min_length=1, max_length=20)

    def aspects(self) -> dict[str, tuple[Module, Aspect]]:
        return {a.aspect_id: (m, a) for m in self.modules for a in m.aspects}

    def module(self, module_id: str) -> Module | None:
        return next((m for m in self.modules if m.module_id == module_id), None)


def check_marking_scheme(scheme: MarkingScheme, theory_max_pct: int) -> None:
    """Raise the first rule the scheme breaks: unique ids, 100 marks, theory share."""
    module_ids = [m.module_id for m in scheme.modules]
    if len(set(module_ids)) != len(module_ids):
        raise RuleViolation("marking_scheme", Rule.SCHEME_DUPLICATE_MODULE, "module ids repeat")
    aspect_ids = [a.aspect_id for m in scheme.modules for a in m.aspects]
    if len(set(aspect_ids)) != len(aspect_ids):
        raise RuleViolation("marking_scheme", Rule.SCHEME_DUPLICATE_ASPECT, "aspect ids repeat")
    total = sum((m.max_marks for m in scheme.modules), Decimal(0))
    if total != MARKS_TOTAL:
        raise RuleViolation(
            "marking_scheme", Rule.SCHEME_TOTAL, f"the aspects total {total} marks, not 100"
        )
    theory = sum((m.max_marks for m in scheme.modules if m.kind == "theory"), Decimal(0))
    if theory * 100 > total * theory_max_pct:
        raise RuleViolation(
            "marking_scheme",
            Rule.SCHEME_THEORY_SHARE,
            f"theory is {theory} of 100 marks; at most {theory_max_pct}% is allowed",
        )


# --- rule sets --------------------------------------------------------------------------


class Qualification(_Frozen):
    """Who may enter: anyone (no ``from_tiers``), or a qualifier advanced from a competition
    of one of ``from_tiers`` that feeds this one, or a recorded nominee."""

    from_tiers: tuple[Tier, ...] = ()
    nomination_allowed: bool = True


class Advancement(_Frozen):
    """The first ``quota`` of each category's ranking qualify for the competition this one
    feeds (named when the competition is created)."""

    quota: int = Field(0, ge=0, le=10_000)


class AwardRules(_Frozen):
    medals: bool = True
    medals_without_ties: bool = True
    # 优胜奖: ranks below the medals within this fraction of the field (0: none).
    merit_top_fraction: Decimal = Field(Decimal("0.5"), ge=0, le=1)
    worldskills_scale: bool = False
    # Medallion for Excellence: a scale score at least this, without a medal (None: none).
    medallion_min_scale: int | None = None


class PromotionRule(_Frozen):
    """A promotion for competitors of ``category`` meeting every condition given.

    ``to_level``: the level granted (a holder already at or above it goes one level up);
    ``levels_up``: so many levels above the level held (none held counts as below level 5).
    """

    category: Category
    max_rank: int | None = Field(None, ge=1)
    top_fraction: Decimal | None = Field(None, gt=0, le=1)
    min_award: Award | None = None
    to_level: int | None = Field(None, ge=1, le=5)
    levels_up: int | None = Field(None, ge=1, le=4)

    @model_validator(mode="after")
    def _one_target(self) -> PromotionRule:
        if (self.to_level is None) == (self.levels_up is None):
            raise ValueError("a promotion rule gives exactly one of to_level and levels_up")
        return self


class TitleRule(_Frozen):
    title: str = Field(min_length=1, max_length=40)
    category: Category = "workers"
    max_rank: int | None = Field(None, ge=1)
    min_award: Award | None = None


class RuleSet(_Frozen):
    version: str
    description: str
    tier: Tier
    qualification: Qualification
    advancement: Advancement
    awards: AwardRules
    promotions: tuple[PromotionRule, ...] = ()
    # Students are promoted no higher than this level (a larger number is a lower level).
    student_cap_level: int = Field(3, ge=1, le=5)
    titles: tuple[TitleRule, ...] = ()
    tie_break: tuple[TieBreakKey, ...] = Field(min_length=1)
    recuse_on: tuple[ConflictField, ...] = ("employer",)
    min_age: int = Field(16, ge=0, le=100)
    worldskills_age_rule: bool = False
    theory_max_pct: int = Field(30, ge=0, le=100)
    marking_scheme: MarkingScheme
    # The national training squad a WorldSkills selection feeds: its size, then each
    # elimination round's survivors, ending on the one team member (per skill where listed).
    squad_rounds: tuple[int, ...] = ()
    squad_rounds_by_skill: dict[str, tuple[int, ...]] = Field(default_factory=dict)

    def rounds_for(self, skill: str) -> tuple[int, ...]:
        return self.squad_rounds_by_skill.get(skill, self.squad_rounds)

    @model_validator(mode="after")
    def _consistent(self) -> RuleSet:
        check_marking_scheme(self.marking_scheme, self.theory_max_pct)
        if self.tie_break[-1] != "entry_sequence":
            raise ValueError("a tie-break ends on entry_sequence, so it always decides")
        for rounds in (self.squad_rounds, *self.squad_rounds_by_skill.values()):
            check_squad_rounds(rounds)
        return self


def check_squad_rounds(rounds: Sequence[int]) -> None:
    """Strictly narrowing rounds that end on one team member (or none at all)."""
    if not rounds:
        return
    if rounds[-1] != 1 or any(a <= b for a, b in pairwise(rounds)):
        raise ValueError(f"squad rounds {list(rounds)} must narrow strictly down to 1")


class ScaleFormula(_Frozen):
    """Raw totals to the WorldSkills scale: ``centre + (raw - median) * points_per_sd / sd``,
    with the population standard deviation of the field, rounded half up to a whole point.
    A field whose totals are all equal sits at ``centre``."""

    version: str
    description: str
    centre: int = Field(ge=0)
    points_per_sd: Decimal = Field(gt=0)


class AgeCaps(_Frozen):
    """WorldSkills age caps of one edition: competitors born on or after 1 January of the
    competition year minus the cap. Skills not listed use ``default_cap``."""

    edition: int = Field(ge=1950, le=2100)
    name: str
    default_cap: int = Field(ge=10, le=40)
    skill_caps: dict[str, int] = Field(default_factory=dict)


class AgeTable(_Frozen):
    version: str
    description: str
    editions: tuple[AgeCaps, ...]


def _load() -> tuple[dict[str, RuleSet], ScaleFormula, AgeTable]:
    rule_sets: dict[str, RuleSet] = {}
    for name, data in policy_files("competition"):
        if name not in (_SCALE_FILE, _AGES_FILE):
            rule_set = named_by_version(name, RuleSet.model_validate(data))
            rule_sets[rule_set.version] = rule_set
    scale = ScaleFormula.model_validate(read_policy_file("competition", _SCALE_FILE))
    ages = AgeTable.model_validate(read_policy_file("competition", _AGES_FILE))
    return rule_sets, scale, ages


_RULE_SETS, _SCALE, _AGES = _load()


def rule_set(version: str) -> RuleSet:
    try:
        return _RULE_SETS[version]
    except KeyError:
        raise RuleViolation(
            "rule_version", Rule.COMPETITION_UNKNOWN_RULE_SET, f"no competition rule set {version}"
        ) from None


def rule_set_versions() -> list[str]:
    return sorted(_RULE_SETS)


def default_rule_version(tier: str) -> str:
    """The newest rule set of ``tier`` (versions of one tier sort by their year suffix)."""
    versions = sorted(v for v, r in _RULE_SETS.items() if r.tier == tier)
    if not versions:
        raise RuleViolation("tier", Rule.COMPETITION_UNKNOWN_TIER, f"no rule set for tier {tier}")
    return versions[-1]


def scale_formula() -> ScaleFormula:
    return _SCALE


def may_feed(lower: RuleSet, higher: RuleSet) -> bool:
    """Whether a competition under ``lower`` may send its qualifiers to one under ``higher``."""
    return lower.advancement.quota > 0 and lower.tier in higher.qualification.from_tiers


def check_opening(
    rules: RuleSet,
    tier: str,
    scheme: MarkingScheme,
    *,
    issuing_body_id: str | None,
    feeds: RuleSet | None,
) -> None:
    """Raise the first rule a new competition breaks: its rule set is its tier's, its
    marking scheme fits the rule set, a tier whose results promote names the evaluation
    body certifying them, and the competition it feeds (``feeds``, that one's rule set)
    takes qualifiers from this tier."""
    if rules.tier != tier:
        raise RuleViolation(
            "rule_version",
            Rule.COMPETITION_RULE_TIER,
            f"rule set {rules.version} is for {rules.tier}",
        )
    check_marking_scheme(scheme, rules.theory_max_pct)
    if rules.promotions and not issuing_body_id:
        raise RuleViolation(
            "issuing_body_id",
            Rule.COMPETITION_ISSUING_BODY_REQUIRED,
            f"{rules.tier} results promote: name the evaluation body that certifies them",
        )
    if feeds is not None and not may_feed(rules, feeds):
        raise RuleViolation(
            "feeds_competition_id",
            Rule.COMPETITION_FEEDS_TIER,
            f"a {rules.tier} competition does not qualify entrants for a {feeds.tier} one",
        )


# --- entries ----------------------------------------------------------------------------


def worldskills_age_cap(edition: int, skill: str, table: AgeTable | None = None) -> int:
    table = table or _AGES
    caps = next((e for e in table.editions if e.edition == edition), None)
    if caps is None:
        # Editions without their own row take the latest earlier one: caps change rarely.
        earlier = [e for e in table.editions if e.edition < edition]
        if not earlier:
            raise RuleViolation(
                "edition_year",
                Rule.WORLDSKILLS_UNKNOWN_EDITION,
                f"no WorldSkills age caps recorded for {edition} or earlier",
            )
        caps = max(earlier, key=lambda e: e.edition)
    return caps.skill_caps.get(skill, caps.default_cap)


def check_worldskills_age(birth_date: date, edition: int, skill: str) -> None:
    """Born on or after 1 January of (edition year - cap), or refused naming the rule."""
    cap = worldskills_age_cap(edition, skill)
    earliest = date(edition - cap, 1, 1)
    if birth_date < earliest:
        raise RuleViolation(
            "id_number",
            Rule.ENTRY_WORLDSKILLS_AGE,
            f"competitors in {skill} at the {edition} edition must be born on or after "
            f"{earliest.isoformat()} (age cap {cap})",
        )


# --- marks ------------------------------------------------------------------------------


def check_mark(aspect: Aspect, value: Decimal) -> None:
    """A measurement mark lies in [0, max_mark]; a judgement score is one of 0-3."""
    if not value.is_finite():
        raise RuleViolation("mark", Rule.MARK_NOT_A_NUMBER, "a mark must be a finite number")
    if aspect.kind == "judgement":
        if value not in JUDGEMENT_SCORES:
            raise RuleViolation(
                "mark", Rule.MARK_JUDGEMENT_RANGE, "a judgement score is a whole number 0 to 3"
            )
        return
    if value < 0 or value > aspect.max_mark:
        raise RuleViolation(
            "mark",
            Rule.MARK_MEASUREMENT_RANGE,
            f"aspect {aspect.aspect_id} takes 0 to {aspect.max_mark} marks",
        )
    if value != value.quantize(Decimal("0.01")):
        raise RuleViolation("mark", Rule.MARK_PRECISION, "a mark has at most two decimals")


AspectStatus = Literal["incomplete", "remark_required", "accepted"]


def aspect_status(aspect: Aspect, values: Sequence[Decimal]) -> AspectStatus:
    """Whether a competitor's marks on one aspect are final.

    A judgement aspect needs three judges' scores no more than one point apart: judges whose
    scores differ by more than one must re-mark before the aspect is accepted.
    """
    if aspect.kind == "measurement":
        return "accepted" if len(values) == 1 else "incomplete"
    if len(values) < JUDGES_PER_JUDGEMENT:
        return "incomplete"
    if max(values) - min(values) > 1:
        return "remark_required"
    return "accepted"


def aspect_marks(aspect: Aspect, values: Sequence[Decimal]) -> Decimal:
    """The marks an accepted aspect earns: a measurement's own mark, or for a judgement the
    judges' mean score as a share of 3 of the aspect's marks (to two decimals)."""
    if aspect.kind == "measurement":
        return values[0]
    mean = sum(values, Decimal(0)) / len(values)
    return (aspect.max_mark * mean / 3).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def judge_conflicts(
    judge: dict[str, str], competitor: dict[str, str], recuse_on: Iterable[ConflictField]
) -> list[ConflictField]:
    """The fields on which a judge and a competitor share a (non-blank) value."""
    return [f for f in recuse_on if judge.get(f) and judge.get(f) == competitor.get(f)]


# --- results ----------------------------------------------------------------------------


class CompetitorTotals(_Frozen):
    person_key: str
    entry_sequence: int = Field(ge=1)
    total: Decimal
    practical: Decimal = Decimal(0)
    judgement: Decimal = Decimal(0)
    measurement: Decimal = Decimal(0)


class Placing(_Frozen):
    person_key: str
    rank: int = Field(ge=1)
    total: Decimal
    scale_score: int | None = None
    award: Award = "none"

    @property
    def medal(self) -> Medal:
        return "none" if self.award == "merit" else self.award


def worldskills_scale(totals: Sequence[Decimal], formula: ScaleFormula | None = None) -> list[int]:
    """Each raw total on the WorldSkills scale (see ``ScaleFormula``); the median is centre."""
    formula = formula or _SCALE
    if not totals:
        return []
    median = Decimal(str(statistics.median(totals)))
    sd = Decimal(str(statistics.pstdev([float(t) for t in totals])))
    if sd == 0:
        return [formula.centre for _ in totals]
    return [
        int(
            (formula.centre + (t - median) * formula.points_per_sd / sd).quantize(
                Decimal(1), rounding=ROUND_HALF_UP
            )
        )
        for t in totals
    ]


def _sort_key(c: CompetitorTotals, keys: Sequence[TieBreakKey]) -> tuple[Decimal | int, ...]:
    # Higher marks first; entry_sequence, the last key, lower first.
    return tuple(c.entry_sequence if k == "entry_sequence" else -getattr(c, k) for k in keys)


def rank(field: Sequence[CompetitorTotals], rules: RuleSet) -> list[Placing]:
    """Rank one category's field and give its awards.

    Order: the rule set's tie-break keys (always ending on entry order, so the order is
    total). Where the tier forbids tied medals every place is its own rank; otherwise equal
    totals share a rank (1, 2, 2, 4).
    """
    ordered = sorted(field, key=lambda c: _sort_key(c, rules.tie_break))
    scale = (
        worldskills_scale([c.total for c in ordered]) if rules.awards.worldskills_scale else None
    )
    placings: list[Placing] = []
    for position, competitor in enumerate(ordered, start=1):
        shared = (
            not rules.awards.medals_without_ties
            and placings
            and placings[-1].total == competitor.total
        )
        placing_rank = placings[-1].rank if shared else position
        scale_score = scale[position - 1] if scale is not None else None
        placings.append(
            Placing(
                person_key=competitor.person_key,
                rank=placing_rank,
                total=competitor.total,
                scale_score=scale_score,
                award=award_for(placing_rank, len(ordered), scale_score, rules.awards),
            )
        )
    return placings


def award_for(rank_: int, field_size: int, scale_score: int | None, rules: AwardRules) -> Award:
    """Gold, silver, bronze for ranks 1-3; else a Medallion for Excellence for a scale score
    at the threshold; else 优胜奖 within the top fraction of the field."""
    if rules.medals and rank_ <= 3:
        return ("gold", "silver", "bronze")[rank_ - 1]
    if (
        rules.medallion_min_scale is not None
        and scale_score is not None
        and scale_score >= rules.medallion_min_scale
    ):
        return "excellence"
    if rank_ <= math.floor(field_size * rules.merit_top_fraction):
        return "merit"
    return "none"


_AWARD_ORDER: Final[dict[str, int]] = {
    "gold": 0,
    "silver": 1,
    "bronze": 2,
    "excellence": 3,
    "merit": 4,
    "none": 5,
}


def _award_at_least(award: Award, minimum: Award) -> bool:
    return _AWARD_ORDER[award] <= _AWARD_ORDER[minimum]


def qualifies(
    placing: Placing,
    field_size: int,
    *,
    max_rank: int | None,
    top_fraction: Decimal | None,
    min_award: Award | None,
) -> bool:
    if max_rank is not None and placing.rank > max_rank:
        return False
    if top_fraction is not None and placing.rank > math.floor(field_size * top_fraction):
        return False
    return min_award is None or _award_at_least(placing.award, min_award)


def advancing(placings: Sequence[Placing], rules: RuleSet) -> list[Placing]:
    """Those who qualify for the next tier: the first ``quota`` places."""
    return [p for p in placings if p.rank <= rules.advancement.quota]


def promotion_level(
    placing: Placing,
    field_size: int,
    category: Category,
    level_held: int | None,
    rules: RuleSet,
) -> int | None:
    """The level a placing is promoted to, or None. The first matching rule decides."""
    for rule in rules.promotions:
        if rule.category != category or not qualifies(
            placing,
            field_size,
            max_rank=rule.max_rank,
            top_fraction=rule.top_fraction,
            min_award=rule.min_award,
        ):
            continue
        held = level_held if level_held is not None else 6
        if rule.to_level is not None:
            to_level = rule.to_level if held > rule.to_level else held - 1
        else:
            assert rule.levels_up is not None
            to_level = held - rule.levels_up
        if category == "students":
            to_level = max(to_level, rules.student_cap_level)
        to_level = max(to_level, 1)
        return to_level if to_level < held and to_level <= 5 else None
    return None


def titles_for(placing: Placing, field_size: int, category: Category, rules: RuleSet) -> list[str]:
    return [
        t.title
        for t in rules.titles
        if t.category == category
        and qualifies(
            placing, field_size, max_rank=t.max_rank, top_fraction=None, min_award=t.min_award
        )
    ]


# --- the national training squad --------------------------------------------------------


class SquadStanding(_Frozen):
    """A squad member in a round: the round's assessment score and the previous standing
    (``seed``, 1 best), which breaks a tie."""

    member: int = Field(ge=1)
    seed: int = Field(ge=1)
    score: Decimal


def squad_cut(standings: Sequence[SquadStanding], keep: int) -> tuple[list[int], list[int]]:
    """(kept, eliminated) members of a round, each in ranking order: the higher assessment
    score first, then the better seed."""
    ordered = sorted(standings, key=lambda s: (-s.score, s.seed))
    return [s.member for s in ordered[:keep]], [s.member for s in ordered[keep:]]
