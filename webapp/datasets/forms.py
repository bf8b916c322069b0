from __future__ import annotations

import copy

from django import forms
from django.core.exceptions import ValidationError

from selection_engine.sources import SECRET_KEYS

from . import services
from .models import Dataset


class DatasetForm(forms.ModelForm):
    """Name, description and datasource. The datasource fields are the engine's keys; they reach
    the dataset through :func:`services.update_datasource` (:meth:`apply_datasource`), which
    keeps a stored secret that is left blank."""

    class Meta:
        model = Dataset
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.fields.update(copy.deepcopy(_SOURCE_FORM_FIELDS))
        for name in SECRET_KEYS:
            self.fields[name].widget = forms.PasswordInput(render_value=False)
            self.fields[name].help_text = "Leave empty to keep the stored key."
        if self.instance.pk:
            shown = [name for name in services.SOURCE_FIELDS if name not in SECRET_KEYS]
            self.initial.update({name: getattr(self.instance, name) for name in shown})

    def clean_name(self):
        try:
            return services.check_name_free(self.owner, self.cleaned_data["name"], dataset_pk=self.instance.pk)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["name"]) from None

    def apply_datasource(self, dataset: Dataset) -> set[str]:
        """Put the submitted datasource on ``dataset``; the fields that changed."""
        return services.update_datasource(dataset, {name: self.cleaned_data.get(name) for name in services.SOURCE_FIELDS})


#: The datasource's form fields, made from the model's columns for the engine's keys.
_SOURCE_FORM_FIELDS = forms.fields_for_model(Dataset, fields=services.SOURCE_FIELDS)


class UploadForm(forms.Form):
    archive = forms.FileField(label="Predictions / metadata (.zip)")
