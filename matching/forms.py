from django import forms

from .choices import Decision, Outcome
from .selectors import PERCEIVED_ATTRIBUTES

NOT_RECORDED_LABEL = "Not recorded"


def _perceived_field(attribute) -> forms.ChoiceField:
    message = f"Choose the {attribute.label.lower()} from the list, or leave it not recorded."
    return forms.ChoiceField(choices=[("", NOT_RECORDED_LABEL), *attribute.choices.choices], required=False,
                             label=attribute.label, error_messages={"invalid_choice": message})


class PerceivedFieldsMixin:
    """How the passer-by of a false alert appeared, as the operator perceived it: fixed choices, each optional."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for attribute in PERCEIVED_ATTRIBUTES:
            self.fields[attribute.field] = _perceived_field(attribute)

    def perceived(self) -> dict[str, str]:
        return {attribute.field: self.cleaned_data.get(attribute.field) or "" for attribute in PERCEIVED_ATTRIBUTES}


class JustificationForm(forms.Form):
    justification = forms.CharField(
        label="Why are you watching this deployment's alerts?", widget=forms.Textarea,
        help_text="For example: operator on duty for this deployment. It is recorded with every alert you view.",
    )


class DecisionForm(PerceivedFieldsMixin, forms.Form):
    decision = forms.ChoiceField(choices=Decision.choices,
                                 error_messages={"required": "Choose confirmed match, false alert or unable to "
                                                             "determine.",
                                                 "invalid_choice": "Choose confirmed match, false alert or unable "
                                                                   "to determine."})


class PerceptionForm(PerceivedFieldsMixin, forms.Form):
    """Added afterwards to a decided false alert."""


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(choices=Outcome.choices,
                                error_messages={"required": "Choose the engagement outcome.",
                                                "invalid_choice": "Choose the engagement outcome."})
    outcome_text = forms.CharField(required=False, max_length=2000, label="Describe the outcome")
