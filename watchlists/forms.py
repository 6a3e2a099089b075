"""Forms for the watchlist pages. They check shapes (required, dates, file sizes); the services own the rules."""

from __future__ import annotations

from datetime import date

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from lfr_governance.accounts.choices import Role
from lfr_governance.accounts.roles import role_group_name
from lfr_governance.forms import GovukPartsField, GovukPartsWidget, govuk_date

from .bulk import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from .choices import (
    ImageSource,
    LegalBasis,
    category_choices,
    category_needs_offence,
    offence_choices,
)
from .selectors import ENTRY_FIELDS


class WatchlistForm(forms.Form):
    operation_name = forms.CharField(
        label="Operation name", max_length=200,
        help_text="The operation this watchlist is built for, e.g. Operation Harbour.",
        error_messages={"required": "Enter the operation name"},
    )
    objective = forms.CharField(
        label="Policing objective", widget=forms.Textarea,
        help_text="The defined policing objective this watchlist serves, e.g. arrest people wanted for robbery "
                  "in the town centre. A watchlist is bespoke to one operation, never a general database.",
        error_messages={"required": "Enter the policing objective this watchlist serves"},
    )
    intelligence_case_ref = forms.CharField(
        label="Intelligence case reference", max_length=64,
        help_text="The reference of the intelligence case the watchlist is built from, e.g. CASE/2026/17.",
        error_messages={"required": "Enter the intelligence case reference"},
    )


class GovukDateWidget(GovukPartsWidget):
    """The GOV.UK date input: three boxes named <name>-day, <name>-month and <name>-year."""


class GovukDateField(GovukPartsField):
    widget = GovukDateWidget

    def to_python(self, value):
        if isinstance(value, date) or value in (None, ""):
            return value or None
        day, month, year = (value.get(part, "") for part in GovukDateWidget.parts)
        if not (day or month or year):
            return None
        # Any 4-digit year: the service refuses one outside the policy's range, with the range (lfr_governance.dates).
        return govuk_date(self.noun.capitalize(), day, month, year, min_year=1000, example="27 3 2025")

    def stored_parts(self, value) -> dict[str, str] | None:
        if isinstance(value, date):
            return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}
        return None


class EntryForm(forms.Form):
    """An entry and its image. `creating` makes the subject reference editable and the image required."""

    subject_ref = forms.CharField(
        label="Subject reference", max_length=64,
        help_text="The custody number or PNC number of the person, e.g. PNC 12/345678A.",
        error_messages={"required": "Enter the subject reference (custody or PNC number)"},
    )
    category = forms.ChoiceField(
        label="Inclusion category", choices=(),
        help_text="Why this person may be on a watchlist. Only these categories are allowed: there is no 'other'.",
        error_messages={"required": "Choose the inclusion category", "invalid_choice": "Choose one of the listed categories"},
    )
    offence = forms.ChoiceField(
        label="Offence", choices=(), required=False,
        help_text="Only for 'Suspected of a serious offence': the offence the person is suspected of.",
    )
    legal_basis = forms.ChoiceField(
        label="Legal basis for holding the image", choices=LegalBasis.choices,
        help_text="The law under which the force holds this image of the person.",
        error_messages={"required": "Choose the legal basis under which the image is held"},
    )
    image_source = forms.ChoiceField(
        label="Image source", choices=ImageSource.choices,
        help_text="Where the image came from.",
        error_messages={"required": "Choose where the image came from"},
    )
    image_capture_date = GovukDateField(
        label="Image capture date", noun="image capture date",
        help_text="When the image was taken, for example 27 3 2025. Old images match less reliably.",
    )
    intelligence_ref = forms.CharField(
        label="Intelligence reference", max_length=64,
        help_text="The intelligence report or log reference that supports including this person, e.g. INT/2026/0042.",
        error_messages={"required": "Enter the intelligence reference"},
    )
    justification = forms.CharField(
        label="Justification", widget=forms.Textarea,
        help_text="Why it is necessary and proportionate to look for this person in this operation, "
                  "and why they are likely to be in the area.",
        error_messages={"required": "Enter why this person is on this watchlist for this operation"},
    )
    subject_under_18 = forms.BooleanField(label="The subject is under 18", required=False)
    under_18_rationale = forms.CharField(
        label="Why including a child is necessary", widget=forms.Textarea, required=False,
        help_text="Record why this operation needs to include a person under 18, e.g. a missing child at risk.",
    )
    image = forms.FileField(
        label="Image of the subject's face", required=False,
        help_text="A JPEG or PNG showing one face, front on and in focus, e.g. a custody image. "
                  "It is checked for quality after upload; the result appears on the watchlist page.",
    )

    def __init__(self, *args, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating
        self.fields["category"].choices = category_choices()
        self.fields["offence"].choices = [("", "Choose the offence"), *offence_choices()]
        if creating:
            self.fields["image"].required = True
            self.fields["image"].error_messages["required"] = "Choose a JPEG or PNG image of the subject's face"
        else:
            self.fields["image"].label = "Add another image (optional)"
            del self.fields["subject_ref"]

    @property
    def category_options(self) -> list[tuple[str, str, bool]]:
        return [(key, label, category_needs_offence(key)) for key, label in category_choices()]

    @property
    def capture_parts(self) -> dict[str, str]:
        bound = self["image_capture_date"]
        return self.fields["image_capture_date"].parts_for(bound.value())

    def clean_image(self):
        image = self.cleaned_data.get("image")
        limit = settings.LFR_WATCHLIST_IMAGE_MAX_BYTES
        if image and image.size > limit:
            raise ValidationError(
                f"The image is {image.size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB. Export a smaller JPEG."
            )
        return image

    def clean(self):
        data = super().clean()
        # The service repeats these rules; checking here lets every field error show at once.
        category = data.get("category")
        if category and category_needs_offence(category) and not data.get("offence"):
            self.add_error("offence", "Choose the offence the person is suspected of")
        elif category and not category_needs_offence(category):
            data["offence"] = ""  # a hidden offence select left set from another category means nothing
        if data.get("subject_under_18") and not (data.get("under_18_rationale") or "").strip():
            self.add_error("under_18_rationale", "The subject is under 18: enter why including a child is necessary")
        if not data.get("subject_under_18"):
            data["under_18_rationale"] = ""
        return data

    def entry_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in ENTRY_FIELDS if name in self.cleaned_data}


class ImageAddForm(forms.Form):
    """A further image of an existing entry's subject."""

    image = forms.FileField(
        label="Another image of the subject's face",
        help_text="A JPEG or PNG of the same person, showing one face, front on and in focus, e.g. a second custody "
                  "image. It is checked for quality after upload. Once accepted, the entry is matched on the mean of "
                  "its accepted images' templates, which finds the person more often than one image does.",
        error_messages={"required": "Choose a JPEG or PNG image of the subject's face"},
    )

    def clean_image(self):
        image = self.cleaned_data.get("image")
        limit = settings.LFR_WATCHLIST_IMAGE_MAX_BYTES
        if image and image.size > limit:
            raise ValidationError(
                f"The image is {image.size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB. Export a smaller JPEG."
            )
        return image


def reviewers_queryset():
    return (
        get_user_model().objects.filter(groups__name=role_group_name(Role.REVIEWER), is_active=True)
        .select_related("profile__team").order_by("last_name", "first_name", "username")
    )


class ReviewerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        name = user.get_full_name() or user.username
        profile = getattr(user, "profile", None)
        if profile is None:
            return name
        team = f", {profile.team.name}" if profile.team else ""
        return f"{name} ({profile.get_rank_display()}{team})"


class ReviewerAssignForm(forms.Form):
    reviewer = ReviewerChoiceField(
        label="Reviewer", queryset=None, empty_label="Choose a reviewer",
        help_text="A second intelligence officer who holds the reviewer role. They review each entry "
                  "before the watchlist can be frozen, and must not be the entry's author.",
        error_messages={"required": "Choose the reviewer to assign", "invalid_choice": "Choose a reviewer from the list"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = reviewers_queryset()


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("return", "Return")])
    reason = forms.CharField(required=False, widget=forms.Textarea)

    def clean(self):
        data = super().clean()
        if data.get("decision") == "return" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Enter why the entry is returned, so its author can put it right")
        return data


class JustificationForm(forms.Form):
    justification = forms.CharField(
        label="Why do you need to see these images?", widget=forms.Textarea,
        help_text="For example: reviewing each entry's image quality for Operation Harbour. "
                  "This is recorded in the audit log with every image you view.",
        error_messages={"required": "Enter why you need to see these images"},
    )


class BulkImportForm(forms.Form):
    csv_file = forms.FileField(
        label="CSV file of entries",
        help_text="UTF-8 CSV, one entry per row, with the column names below in the first row.",
        error_messages={"required": "Choose the CSV file of entries"},
    )
    zip_file = forms.FileField(
        label="ZIP file of images",
        help_text="A ZIP holding the JPEG or PNG named in each row's image column.",
        error_messages={"required": "Choose the ZIP file of images"},
    )

    columns = REQUIRED_COLUMNS
    optional_columns = OPTIONAL_COLUMNS

    def clean(self):
        data = super().clean()
        total = sum(f.size for f in (data.get("csv_file"), data.get("zip_file")) if f)
        limit = settings.LFR_BULK_IMPORT_MAX_BYTES
        if total > limit:
            self.add_error("zip_file", f"The files add up to {total / 1e6:.0f} MB; the limit is {limit / 1e6:.0f} MB. "
                                       "Split the import into smaller batches.")
        return data


class DestroyForm(forms.Form):
    reason = forms.CharField(
        label="Reason for destroying the images and templates", max_length=200,
        help_text="For example: deployment ended on 12 May 2026 and the retention period is over.",
        error_messages={"required": "Enter the reason for destroying this version's images and templates"},
    )
