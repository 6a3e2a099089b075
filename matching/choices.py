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


# An alert is decided once; only a confirmed match (the officer engages) takes an engagement outcome.
DECISIONS_TAKING_OUTCOME = {Decision.CONFIRMED}
