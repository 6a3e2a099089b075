"""Ranks, in order of seniority, and the roles of GOVERNANCE.md."""

from django.db import models


class Rank(models.TextChoices):
    # Values are stable identifiers; RANK_ORDER gives seniority.
    CIVILIAN = "civilian", "Police staff (civilian)"
    CONSTABLE = "constable", "Constable"
    SERGEANT = "sergeant", "Sergeant"
    INSPECTOR = "inspector", "Inspector"
    CHIEF_INSPECTOR = "chief_inspector", "Chief Inspector"
    SUPERINTENDENT = "superintendent", "Superintendent"
    CHIEF_SUPERINTENDENT = "chief_superintendent", "Chief Superintendent"
    ASSISTANT_CHIEF_CONSTABLE = "assistant_chief_constable", "Assistant Chief Constable / Commander"
    DEPUTY_CHIEF_CONSTABLE = "deputy_chief_constable", "Deputy Chief Constable / Deputy Assistant Commissioner"
    CHIEF_CONSTABLE = "chief_constable", "Chief Constable / Commissioner"


RANK_ORDER = {value: index for index, value in enumerate(Rank.values)}


def rank_at_least(rank: str, minimum: str) -> bool:
    return RANK_ORDER.get(rank, -1) >= RANK_ORDER[minimum]


class Role(models.TextChoices):
    INTELLIGENCE_OFFICER = "intelligence_officer", "Intelligence officer"
    REVIEWER = "reviewer", "Reviewer"
    AUTHORISING_OFFICER = "authorising_officer", "Authorising officer"
    OPERATOR = "operator", "Operator / engagement officer"
    DPO = "dpo", "Data Protection Officer"
    ADMINISTRATOR = "administrator", "Administrator"
