from django import forms
from django.core.exceptions import ValidationError

from ..validation import clean_name
from .models import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(max_length=ApiToken._meta.get_field("name").max_length, required=False,
                           help_text="What the token is for, e.g. “training pipeline”.")

    def clean_name(self):
        name = self.cleaned_data["name"]
        try:
            return clean_name(ApiToken, name) if name else ""
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["name"]) from None
