from django import forms

from .choices import Decision, Outcome


class JustificationForm(forms.Form):
    justification = forms.CharField(
        label="Why are you watching this deployment's alerts?", widget=forms.Textarea,
        help_text="For example: operator on duty for this deployment. It is recorded with every alert you view.",
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=Decision.choices,
                                 error_messages={"required": "Choose confirmed match, false alert or unable to "
                                                             "determine.",
                                                 "invalid_choice": "Choose confirmed match, false alert or unable "
                                                                   "to determine."})


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(choices=Outcome.choices,
                                error_messages={"required": "Choose the engagement outcome.",
                                                "invalid_choice": "Choose the engagement outcome."})
    outcome_text = forms.CharField(required=False, max_length=2000, label="Describe the outcome")
