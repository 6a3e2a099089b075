"""Form pieces every app's pages share: GOV.UK date inputs and putting a service's errors on a form."""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.exceptions import ValidationError


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Puts a service's ValidationError on the form: on the named field where the form has it, else on the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error.messages)
    else:
        form.add_error(None, exc.messages)


class GovukPartsWidget(forms.Widget):
    """The GOV.UK date input: one box per part, named <name>-<part> (day, month, year, and any more)."""

    parts: tuple[str, ...] = ("day", "month", "year")

    def value_from_datadict(self, data, files, name):
        return {part: (data.get(f"{name}-{part}") or "").strip() for part in self.parts}

    def value_omitted_from_data(self, data, files, name):
        return not any(f"{name}-{part}" in data for part in self.parts)

    def id_for_label(self, id_):
        return f"{id_}-day" if id_ else id_


class GovukPartsField(forms.Field):
    """A value typed into GOV.UK boxes (a date, a date and time): the noun names it in error messages.
    Subclasses turn the boxes into a value (`to_python`) and a stored value back into boxes (`stored_parts`)."""

    def __init__(self, *, noun: str, **kwargs):
        self.noun = noun
        super().__init__(**kwargs)

    def validate(self, value):
        if value is None and self.required:
            raise ValidationError(f"Enter the {self.noun}", code="required")

    def parts_for(self, value) -> dict[str, str]:
        """What to show in the boxes: the typed text after an error, else the stored value."""
        if isinstance(value, dict):
            return value
        return self.stored_parts(value) or {part: "" for part in self.widget.parts}

    def stored_parts(self, value) -> dict[str, str] | None:
        raise NotImplementedError


def govuk_date(noun: str, day: str, month: str, year: str, *, extra_missing: list[str] = (),
               min_year: int, example: str) -> date:
    """The date typed into GOV.UK date boxes, or an error in the design system's words ("<Noun> must ...")."""
    missing = [part for part, v in (("day", day), ("month", month), ("year", year)) if not v] + list(extra_missing)
    if missing:
        raise ValidationError(f"{noun} must include a {' and a '.join(missing)}")
    try:
        numbers = int(day), int(month), int(year)
    except ValueError:
        raise ValidationError(f"{noun} must be a real date, written in numbers, e.g. {example}")
    if numbers[2] < min_year:
        raise ValidationError(f"{noun} must include a 4-digit year, e.g. {example.split()[-1]}")
    try:
        return date(numbers[2], numbers[1], numbers[0])
    except ValueError:
        raise ValidationError(f"{noun} must be a real date")
