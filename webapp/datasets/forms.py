from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from . import services
from .models import Dataset


class DatasetForm(forms.ModelForm):
    secret_access_key = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored key.",
    )

    class Meta:
        model = Dataset
        fields = [
            "name", "description", "source_type", "path",
            "bucket", "prefix", "endpoint_url", "region", "access_key_id", "secret_access_key",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.stored_secret = self.instance.secret_access_key if self.instance.pk else ""

    def clean_name(self):
        try:
            return services.check_name_free(self.owner, self.cleaned_data["name"], self.instance.pk)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["name"]) from None

    def clean_secret_access_key(self):
        return self.cleaned_data.get("secret_access_key") or self.stored_secret


class UploadForm(forms.Form):
    archive = forms.FileField(label="Predictions / metadata (.zip)")
