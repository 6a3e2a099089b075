"""Choices for watchlists. The inclusion categories come from the one policy place (settings.policy)."""

from django.conf import settings
from django.db import models


def category_choices() -> list[tuple[str, str]]:
    return [(key, label) for key, (label, _) in settings.LFR_INCLUSION_CATEGORIES.items()]


def category_needs_offence(category: str) -> bool:
    return settings.LFR_INCLUSION_CATEGORIES[category][1]


def offence_choices() -> list[tuple[str, str]]:
    return list(settings.LFR_SERIOUS_OFFENCES.items())


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    FROZEN = "frozen", "Frozen"
    DESTROYED = "destroyed", "Destroyed (manifest kept)"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Awaiting review"
    APPROVED = "approved", "Approved"
    RETURNED = "returned", "Returned to author"


class ImageState(models.TextChoices):
    QUEUED = "queued", "Queued for checks"
    ACCEPTED = "accepted", "Accepted"
    REFUSED = "refused", "Refused"


class LegalBasis(models.TextChoices):
    CUSTODY_PACE = "pace_custody", "PACE 1984 s.64A (custody image), held under DPA 2018 Part 3"
    COURT_WARRANT = "court_warrant", "Court warrant, DPA 2018 Part 3 (law enforcement purposes)"
    MISSING_PERSON = "missing_person", "Common law policing purpose: protection of life (missing person)"
    COURT_ORDER = "court_order", "Court order or bail conditions, DPA 2018 Part 3"


class ImageSource(models.TextChoices):
    CUSTODY = "custody", "Custody image"
    FAMILY = "family", "Supplied by family or carers"
    PASSPORT_DVLA = "official_document", "Official document image (with lawful authority)"
    OTHER_FORCE = "other_force", "Image from another force"
    OPEN_SOURCE = "open_source", "Open-source image (recorded and justified)"


class BulkImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Finished"
    FAILED = "failed", "Failed (nothing imported)"


# The Celery tasks (watchlists/tasks.py) that services enqueue by name, so that no service imports its task.
ASSESS_TASK = "watchlists.reference_image_assess"
BULK_IMPORT_TASK = "watchlists.bulk_import_run"
