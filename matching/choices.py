"""Choices for alerts: the operator's decision and the engagement outcome, with the allowed order."""

from django.db import models


class Decision(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed match: engage"
    FALSE_ALERT = "false_alert", "False alert"
    UNDETERMINED = "undetermined", "Unable to determine"


class Outcome(models.TextChoices):
    ARRESTED = "arrested", "Arrested"
    WORDS_OF_ADVICE = "words_of_advice", "Words of advice"
    NO_FURTHER_ACTION = "no_further_action", "No further action"
    NOT_LOCATED = "not_located", "Not located"
    OTHER = "other", "Other"


class Imaging(models.TextChoices):
    COLOUR = "colour", "Colour"
    GREYSCALE = "greyscale", "Greyscale"


class PerceivedAgeBand(models.TextChoices):
    """The passer-by's age band as the operator perceived it on a false alert (optional, never free text)."""

    UNDER_18 = "under_18", "Under 18"
    AGE_18_24 = "18_24", "18 to 24"
    AGE_25_34 = "25_34", "25 to 34"
    AGE_35_44 = "35_44", "35 to 44"
    AGE_45_54 = "45_54", "45 to 54"
    AGE_55_64 = "55_64", "55 to 64"
    AGE_65_PLUS = "65_plus", "65 or over"


class PerceivedGender(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"


class PerceivedEthnicity(models.TextChoices):
    """The five broad groups of the ONS 2021 census, as perceived by the operator."""

    ASIAN = "asian", "Asian or Asian British"
    BLACK = "black", "Black, Black British, Caribbean or African"
    MIXED = "mixed", "Mixed or multiple ethnic groups"
    WHITE = "white", "White"
    OTHER = "other", "Other ethnic group"


# An alert is decided once; only a confirmed match (the officer engages) takes an engagement outcome.
DECISIONS_TAKING_OUTCOME = {Decision.CONFIRMED}
