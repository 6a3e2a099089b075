import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from lfr_governance.accounts.models import Team
from lfr_governance.clock import ClockDateTimeField

from .choices import BulkImportStatus, ImageSource, ImageState, LegalBasis, ReviewStatus, VersionStatus


class Watchlist(models.Model):
    """A bespoke watchlist for one operation, built from its intelligence case; it has versions."""

    operation_name = models.CharField(max_length=200)
    objective = models.TextField(help_text="The defined policing objective this watchlist serves.")
    intelligence_case_ref = models.CharField("intelligence case reference", max_length=64)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="watchlists")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = ClockDateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        default_permissions = ("add", "change", "view")
        permissions = [
            ("build_watchlist", "Can add and edit entries of this watchlist"),
            ("review_watchlist", "Can review entries of this watchlist"),
            ("view_watchlist_images", "Can view this watchlist's images (each view audited)"),
        ]

    def __str__(self) -> str:
        return self.operation_name


class WatchlistUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Watchlist, on_delete=models.CASCADE)


class WatchlistGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Watchlist, on_delete=models.CASCADE)


class WatchlistVersion(models.Model):
    watchlist = models.ForeignKey(Watchlist, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    digest = models.CharField(max_length=64, blank=True, help_text="SHA-256 over entries and templates, set at freeze.")
    pack_id = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0)
    frozen_at = models.DateTimeField(null=True, blank=True)
    frozen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    destroyed_at = models.DateTimeField(null=True, blank=True)
    created_at = ClockDateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["watchlist", "-number"]
        permissions = [("destroy_watchlistversion", "Can destroy a version's images and templates")]
        constraints = [
            models.UniqueConstraint(fields=["watchlist", "number"], name="watchlistversion_number_unique"),
            models.UniqueConstraint(
                fields=["watchlist"], condition=Q(status="draft"), name="watchlistversion_one_draft"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | (~Q(digest="") & Q(frozen_at__isnull=False)),
                name="watchlistversion_frozen_has_digest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.watchlist} v{self.number}"

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


class WatchlistEntry(models.Model):
    version = models.ForeignKey(WatchlistVersion, on_delete=models.CASCADE, related_name="entries")
    subject_ref = models.CharField(
        "subject reference", max_length=64, help_text="Custody or PNC number, e.g. PNC 12/345678A."
    )
    category = models.CharField(max_length=40)
    offence = models.CharField(max_length=40, blank=True)
    legal_basis = models.CharField(max_length=40, choices=LegalBasis.choices)
    image_source = models.CharField(max_length=40, choices=ImageSource.choices)
    image_capture_date = models.DateField()
    intelligence_ref = models.CharField("intelligence reference", max_length=64)
    justification = models.TextField(help_text="Why this person is on this watchlist for this operation.")
    subject_under_18 = models.BooleanField("subject is under 18", default=False)
    under_18_rationale = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = ClockDateTimeField(auto_now_add=True)
    updated_at = ClockDateTimeField(auto_now=True)
    review_status = models.CharField(max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["subject_ref"]
        verbose_name_plural = "watchlist entries"
        constraints = [
            models.UniqueConstraint(fields=["version", "subject_ref"], name="watchlistentry_subject_unique"),
            models.CheckConstraint(
                condition=Q(subject_under_18=False) | ~Q(under_18_rationale=""), name="watchlistentry_under_18_rationale"
            ),
            models.CheckConstraint(
                condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=models.F("author")),
                name="watchlistentry_reviewer_not_author",
            ),
        ]

    def __str__(self) -> str:
        return self.subject_ref


def reference_image_path(instance: "ReferenceImage", filename: str) -> str:
    return f"watchlists/{instance.entry.version_id}/{uuid.uuid4().hex}.img"


class ReferenceImage(models.Model):
    entry = models.ForeignKey(WatchlistEntry, on_delete=models.CASCADE, related_name="images")
    image = models.FileField(upload_to=reference_image_path, max_length=300)
    content_type = models.CharField(max_length=40)
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=20, choices=ImageState.choices, default=ImageState.QUEUED)
    refusal_reason = models.CharField(max_length=40, blank=True)
    refusal_message = models.TextField(blank=True)
    quality = models.JSONField(default=dict, blank=True)
    template = models.BinaryField(null=True, blank=True, editable=False)
    pack_id = models.CharField(max_length=64, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = ClockDateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"image {self.pk} of {self.entry}"


class WatchlistManifest(models.Model):
    """What survives a version's destruction: entry references, categories and dates. No images, no templates."""

    version = models.OneToOneField(WatchlistVersion, on_delete=models.PROTECT, related_name="manifest")
    entries = models.JSONField()
    digest = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=200)
    destroyed_at = models.DateTimeField()
    destroyed_by_label = models.CharField(max_length=200)


def bulk_import_path(instance: "BulkImport", filename: str) -> str:
    return f"imports/{instance.version_id}/{uuid.uuid4().hex}-{filename[-60:]}"


class BulkImport(models.Model):
    version = models.ForeignKey(WatchlistVersion, on_delete=models.CASCADE, related_name="imports")
    csv_file = models.FileField(upload_to=bulk_import_path, max_length=300)
    zip_file = models.FileField(upload_to=bulk_import_path, max_length=300)
    status = models.CharField(max_length=20, choices=BulkImportStatus.choices, default=BulkImportStatus.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    accepted_rows = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = ClockDateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
