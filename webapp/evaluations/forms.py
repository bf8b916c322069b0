from __future__ import annotations

from typing import Any, cast

from django import forms
from django.template.defaultfilters import filesizeformat

from .labels import MAX_LABELS_BYTES
from .models import Evaluation
from .selectors import embedding_choices
from .services import CHOICE_METHODS, INPUT_SIZES, LIMITS

METHOD_LABELS = {
    "coreset": "Coreset: as diverse as possible (greedy k-center)",
    "coral": "Coral: diverse and uncertain (the classifier's uncertainty)",
    "cold-start": "Cold start: diverse and typical, no model needed",
}


class EvaluationForm(forms.Form):
    """Types and bounds of the evaluation page's fields; the labels and the protocol's fit to them
    are checked by ``services.create_evaluation``."""

    labels_source = forms.ChoiceField(choices=Evaluation.LABEL_SOURCES, widget=forms.RadioSelect, initial=Evaluation.FOLDERS,
                                      label="Labels")
    labels_csv = forms.FileField(
        required=False, label="Labels CSV",
        help_text=f"Only for a labels CSV: a header filenames,labels, then one row per labeled image, its name relative "
                  f"to the dataset's folder (e.g. cats/001.jpg). At most {filesizeformat(MAX_LABELS_BYTES)}.",
    )
    embeddings = forms.ChoiceField(required=False, label="Compare random weights with")
    methods = forms.MultipleChoiceField(
        choices=[(m, METHOD_LABELS.get(m, m)) for m in CHOICE_METHODS], initial=list(CHOICE_METHODS),
        error_messages={"required": "Choose at least one method to measure against random labeling."},
        widget=forms.CheckboxSelectMultiple, label="Methods", help_text="Each is measured against random labeling.",
    )
    # A field named like BaseForm.initial: Django's form metaclass takes declared fields out of the
    # class attributes, so the form's ``initial`` dict is not replaced; the stubs cannot know that.
    initial = forms.IntegerField(  # type: ignore[assignment]
        min_value=1, max_value=LIMITS["initial"], initial=30, label="Initial labels (random)",
    )
    per_round = forms.IntegerField(min_value=1, max_value=LIMITS["per_round"], initial=30, label="Labels per round")
    rounds = forms.IntegerField(min_value=1, max_value=LIMITS["rounds"], initial=8, label="Rounds")
    seeds = forms.IntegerField(min_value=1, max_value=LIMITS["seeds"], initial=5, label="Seeds",
                               help_text="Repetitions with other initial labels and test splits: the spread of the curves.")
    input_size = forms.IntegerField(min_value=INPUT_SIZES[0], max_value=INPUT_SIZES[1], initial=64,
                                    label="Input size (pixels) for the random-weights embeddings")

    def __init__(self, *args, user, dataset, **kwargs):
        super().__init__(*args, **kwargs)
        embeddings = cast(forms.ChoiceField, self.fields["embeddings"])
        embeddings.choices = [("", "(nothing: random weights only)")] + embedding_choices(user, dataset)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("labels_source") == Evaluation.CSV and not data.get("labels_csv") and "labels_csv" not in self.errors:
            self.add_error("labels_csv", "Choose a CSV file of filenames,labels.")
        return data
