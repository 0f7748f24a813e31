"""The topic catalog: one topic per domain, each with a ``.dlq`` twin for dead letters."""

from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    REGISTRATION = "skills.registration"
    ASSESSMENT = "skills.assessment"
    CERTIFICATE = "skills.certificate"
    EVALUATION_BODY = "skills.evaluation-body"
    COMPETITION = "skills.competition"
    INCENTIVE = "skills.incentive"

    @property
    def dead_letter(self) -> str:
        return f"{self.value}.dlq"


DEAD_LETTER_SUFFIX = ".dlq"


def all_topic_names() -> list[str]:
    """Every topic the service uses, the dead-letter twins included."""
    return [name for topic in Topic for name in (topic.value, topic.dead_letter)]
