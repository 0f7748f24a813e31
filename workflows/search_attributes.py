"""Custom search attributes. Operators find any workflow with them, e.g.
``temporal workflow list --query 'SkillBody="S0001" AND SkillStage="public_notice"'``.

Never personal data here: no ID number, no name, not even the person key.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

BODY = SearchAttributeKey.for_keyword("SkillBody")
OCCUPATION = SearchAttributeKey.for_keyword("SkillOccupation")
LEVEL = SearchAttributeKey.for_int("SkillLevel")
STAGE = SearchAttributeKey.for_keyword("SkillStage")
COMPETITION = SearchAttributeKey.for_keyword("SkillCompetition")
ROUND = SearchAttributeKey.for_keyword("SkillRound")
SESSION = SearchAttributeKey.for_keyword("SkillSession")

ALL = (BODY, OCCUPATION, LEVEL, STAGE, COMPETITION, ROUND, SESSION)
