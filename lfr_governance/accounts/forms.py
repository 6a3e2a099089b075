"""The second factor's one field."""

from django import forms


class SecondFactorForm(forms.Form):
    code = forms.CharField(label="Code", max_length=16, strip=True,
                           error_messages={"required": "Enter the code your authenticator app shows, or a recovery code."})

    def clean_code(self):
        return self.cleaned_data["code"].replace(" ", "")
