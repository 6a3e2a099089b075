"""Input and output serializers for the watchlists API (HackSoft style: no model serializers, no writes here).

Input serializers only parse types; the business rules (categories, offences, under-18 rationale,
reviewer roles) live once, in the services, and come back as field errors through the API's
exception handler. No serializer ever carries an image template.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lfr_governance.audit.justification import JUSTIFICATION_MIN

from ..choices import (
    BulkImportStatus,
    ImageSource,
    ImageState,
    LegalBasis,
    ReviewStatus,
    VersionStatus,
)

# --- Watchlists and versions -----------------------------------------------------------------


class WatchlistInputSerializer(serializers.Serializer):
    operation_name = serializers.CharField()
    objective = serializers.CharField(help_text="The defined policing objective this watchlist serves.")
    intelligence_case_ref = serializers.CharField()


class WatchlistOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    operation_name = serializers.CharField()
    objective = serializers.CharField()
    intelligence_case_ref = serializers.CharField()
    team = serializers.CharField(source="team.name")
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()


class VersionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    status = serializers.ChoiceField(choices=VersionStatus.choices)
    digest = serializers.CharField(help_text="SHA-256 over entries and templates, set at freeze.")
    size = serializers.IntegerField(help_text="Entries at freeze.")
    pack_id = serializers.CharField(help_text="The model pack that made the templates.")
    frozen_at = serializers.DateTimeField(allow_null=True)
    frozen_by = serializers.CharField(source="frozen_by.username", allow_null=True)
    destroyed_at = serializers.DateTimeField(allow_null=True)


class VersionCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Entries.")
    approved = serializers.IntegerField(help_text="Entries approved by a reviewer.")
    queued = serializers.IntegerField(help_text="Images still being checked.")
    accepted = serializers.IntegerField(help_text="Images accepted.")
    refused = serializers.IntegerField(help_text="Images refused.")


class WatchlistDetailOutputSerializer(WatchlistOutputSerializer):
    """A watchlist with its versions, newest first, and its draft's counts (null when there is no draft)."""

    # Context: `versions` (selectors.watchlist_versions) and `draft_counts` (selectors.version_counts or None).

    versions = serializers.SerializerMethodField()
    draft_counts = serializers.SerializerMethodField()

    @extend_schema_field(VersionOutputSerializer(many=True))
    def get_versions(self, watchlist) -> list:
        return VersionOutputSerializer(self.context["versions"], many=True).data

    @extend_schema_field(VersionCountsSerializer(allow_null=True))
    def get_draft_counts(self, watchlist) -> dict | None:
        counts = self.context["draft_counts"]
        return None if counts is None else VersionCountsSerializer(counts).data


class ReviewerAssignInputSerializer(serializers.Serializer):
    reviewer = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.filter(is_active=True),
        help_text="Username of a person holding the reviewer role.",
        error_messages={"does_not_exist": "No active user has the username {value}."},
    )


class ReviewerAssignOutputSerializer(serializers.Serializer):
    watchlist = serializers.IntegerField()
    reviewer = serializers.CharField()


class VersionDestroyInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="Why the images and templates are destroyed now.")


class VersionDestroyOutputSerializer(serializers.Serializer):
    """What survives: a manifest without images, templates or subject references."""

    version = serializers.IntegerField(source="version_id")
    watchlist = serializers.IntegerField(source="version.watchlist_id")
    number = serializers.IntegerField(source="version.number")
    status = serializers.CharField(source="version.status")
    digest = serializers.CharField()
    reason = serializers.CharField()
    destroyed_at = serializers.DateTimeField()
    destroyed_by = serializers.CharField(source="destroyed_by_label")
    entries = serializers.SerializerMethodField()
    images_destroyed = serializers.SerializerMethodField()

    def get_entries(self, manifest) -> int:
        return len(manifest.entries)

    def get_images_destroyed(self, manifest) -> int:
        return sum(row.get("images_destroyed", 0) for row in manifest.entries)


# --- Entries ---------------------------------------------------------------------------------


class EntryListFilterSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="Version number; the latest version when left out."
    )


class EntryInputSerializer(serializers.Serializer):
    subject_ref = serializers.CharField(help_text="Custody or PNC number, e.g. PNC 12/345678A.")
    category = serializers.CharField(
        help_text=f"Inclusion category, one of: {', '.join(settings.LFR_INCLUSION_CATEGORIES)}."
    )
    offence = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text=f"Only for serious_offence, one of: {', '.join(settings.LFR_SERIOUS_OFFENCES)}.",
    )
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices)
    image_source = serializers.ChoiceField(choices=ImageSource.choices)
    image_capture_date = serializers.DateField()
    intelligence_ref = serializers.CharField()
    justification = serializers.CharField(help_text="Why this person is on this watchlist for this operation.")
    subject_under_18 = serializers.BooleanField(required=False, default=False)
    under_18_rationale = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required when the subject is under 18."
    )


class ImageSummaryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=ImageState.choices)
    refusal_reason = serializers.CharField()
    refusal_message = serializers.CharField()


class EntryOutputSerializer(serializers.Serializer):
    # Serialize entries from selectors.version_entries: images prefetched without their templates.

    id = serializers.IntegerField()
    version = serializers.IntegerField(source="version_id", help_text="The version's id.")
    subject_ref = serializers.CharField()
    category = serializers.CharField()
    offence = serializers.CharField()
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices)
    image_source = serializers.ChoiceField(choices=ImageSource.choices)
    image_capture_date = serializers.DateField()
    intelligence_ref = serializers.CharField()
    justification = serializers.CharField()
    subject_under_18 = serializers.BooleanField()
    under_18_rationale = serializers.CharField()
    author = serializers.CharField(source="author.username")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    review_status = serializers.ChoiceField(choices=ReviewStatus.choices)
    reviewed_by = serializers.CharField(source="reviewed_by.username", allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    review_reason = serializers.CharField()
    images = ImageSummaryOutputSerializer(many=True)


class EntryReviewInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[("approve", "Approve"), ("return", "Return to the author")])
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required when the entry is returned."
    )


# --- Images ----------------------------------------------------------------------------------


class ImageUploadInputSerializer(serializers.Serializer):
    # Empty files pass through, so the service's own image checks answer (code "empty").
    image = serializers.FileField(allow_empty_file=True, help_text="A JPEG or PNG of the subject's face.")


class ImageOutputSerializer(serializers.Serializer):
    """An image's checks and measures; never its bytes or its template."""

    id = serializers.IntegerField()
    entry = serializers.IntegerField(source="entry_id")
    state = serializers.ChoiceField(choices=ImageState.choices)
    refusal_reason = serializers.CharField(help_text="A code such as no_face or face_too_small.")
    refusal_message = serializers.CharField(help_text="What was wrong and what to do.")
    quality = serializers.DictField(help_text="Quality measures from the check (empty while queued).")
    content_type = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    sha256 = serializers.CharField()
    pack_id = serializers.CharField()
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    created_at = serializers.DateTimeField()


_JUSTIFICATION_MISSING = (f"Say why you need to see this image: send an X-Justification header (or a justification "
                          f"query parameter) of at least {JUSTIFICATION_MIN} characters, e.g. the review task.")


class ImageConsultInputSerializer(serializers.Serializer):
    justification = serializers.CharField(
        min_length=JUSTIFICATION_MIN,
        error_messages={
            "required": _JUSTIFICATION_MISSING,
            "blank": _JUSTIFICATION_MISSING,
            "min_length": f"The justification is too short: say in at least {JUSTIFICATION_MIN} characters why you "
                          "need to see this image, e.g. the review task.",
        },
    )


# --- Bulk imports ----------------------------------------------------------------------------


class BulkImportInputSerializer(serializers.Serializer):
    csv_file = serializers.FileField(help_text="UTF-8 CSV, one entry a row; its header names the columns.")
    zip_file = serializers.FileField(help_text="ZIP of the images the CSV's image column names.")


class BulkImportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Row number in the CSV (the header is row 1).")
    subject_ref = serializers.CharField()
    accepted = serializers.BooleanField()
    reason = serializers.CharField(help_text="Why the row was refused; empty when accepted.")


class BulkImportOutputSerializer(serializers.Serializer):
    # Built from a dict: the import's own fields plus watchlists.bulk.bulk_import_progress().

    id = serializers.IntegerField()
    watchlist = serializers.IntegerField()
    version = serializers.IntegerField(help_text="The version's id.")
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(choices=BulkImportStatus.choices)
    processed = serializers.IntegerField()
    total = serializers.IntegerField()
    accepted = serializers.IntegerField()
    percent = serializers.IntegerField()
    error = serializers.CharField()
    results = BulkImportRowSerializer(many=True, help_text="One row per CSV row, once the import has finished.")
