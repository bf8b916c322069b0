"""The run wizard: one form per step, and the three config documents its answers produce.

Steps: dataset → method → task → stopping → embeddings → options → review; the task step only
when the method uses predictions (:func:`steps_for`). The steps adapt to the dataset: without
predictions coral is unavailable (and says why), a single task is preselected, and only the
chosen task's scores are offered. Answers live in the session (``WizardState``) so Back and
Forward keep them; the review step leads with :func:`summary` and shows the documents from
:func:`build_configs` as editable JSON, and the engine validates them before queueing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib.sessions.backends.base import SessionBase

from selection_engine.config import resolve
from selection_engine.config.documents import (
    MAX_INPUT_SIZE,
    MAX_NUM_FTRS,
    MODEL_NAMES,
    count_or_fraction,
)
from selection_engine.config.tasks import check_score
from selection_engine.errors import ConfigError, InputError, WinnowError
from selection_engine.formats.jsondoc import parse_json
from selection_engine.selection.select import target_count

from ..datasets.models import Dataset
from ..datasets.selectors import datasets_of
from . import selectors, services
from .models import Preset

STEPS = ("dataset", "method", "task", "stopping", "embeddings", "options", "review")
TITLES = {
    "dataset": "Dataset",
    "method": "Method",
    "task": "Active-learning task",
    "stopping": "Stopping condition",
    "embeddings": "Embeddings and training",
    "options": "Options",
    "review": "Review",
}
SESSION_KEY = "run_wizard"
#: The methods as the review's summary names them.
METHOD_LABELS = {"coral": "Coral", "coreset": "Coreset", "random": "Random", "strategies": "Strategies"}


class DatasetStep(forms.Form):
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.none(), empty_label=None)
    preset = forms.ModelChoiceField(
        queryset=Preset.objects.none(), required=False, empty_label="(none: build the configs step by step)",
        help_text="Start from saved configs: jumps to the review step.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["dataset"]).queryset = datasets_of(user)
        cast(forms.ModelChoiceField, self.fields["preset"]).queryset = Preset.objects.filter(owner=user)


class _Radios(forms.RadioSelect):
    """Radio buttons of which some choices can be shown but not picked (``disabled_values``)."""

    disabled_values: frozenset[str] = frozenset()

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if str(value) in self.disabled_values:
            option["attrs"]["disabled"] = True
        return option


class MethodStep(forms.Form):
    method = forms.ChoiceField(
        choices=[
            ("coral", "Coral: diverse and uncertain (needs predictions)"),
            ("coreset", "Coreset: as diverse as possible"),
            ("random", "Random"),
            ("strategies", "Strategies: combine diversity, scores and class balance"),
        ],
        widget=_Radios,
        initial="coral",
    )
    use_diversity = forms.BooleanField(required=False, initial=True, label="Diversity of the embeddings")
    use_scores = forms.BooleanField(required=False, initial=True, label="Weight by an active-learning score")
    balance_classes = forms.BooleanField(required=False, label="Balance the predicted classes evenly")

    def __init__(self, *args, dataset: Dataset, **kwargs):
        super().__init__(*args, **kwargs)
        #: False: the dataset has no predictions, so coral and the prediction strategies are off.
        self.has_predictions = dataset.tasks.exists()
        if not self.has_predictions:
            self.fields["method"].initial = "coreset"
            cast(_Radios, self.fields["method"].widget).disabled_values = frozenset({"coral"})
            for name in ("use_scores", "balance_classes"):
                self.fields[name].initial = False
                self.fields[name].widget.attrs["disabled"] = True
                self.fields[name].help_text = "Needs predictions."

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        any_strategy = data.get("use_diversity") or data.get("use_scores") or data.get("balance_classes")
        if data.get("method") == "strategies" and not any_strategy:
            raise forms.ValidationError("Choose at least one strategy.")
        if not self.has_predictions and needs_task({"method": data}):
            raise forms.ValidationError(
                "This dataset has no predictions: upload them on the dataset page to use coral, scores or class "
                "balance, or choose coreset, random or the diversity strategy."
            )
        return data


def needs_task(answers: dict) -> bool:
    """Does the chosen method read predictions (and so need the task step)?"""
    method = answers.get("method", {})
    if method.get("method") == "coral":
        return True
    return method.get("method") == "strategies" and bool(method.get("use_scores") or method.get("balance_classes"))


def steps_for(answers: dict) -> tuple[str, ...]:
    """The wizard's steps for these answers: the task step is left out once the chosen method
    reads no predictions (coreset, random, diversity alone)."""
    if "method" in answers and not needs_task(answers):
        return tuple(s for s in STEPS if s != "task")
    return STEPS


def neighbour_step(answers: dict, step: str, offset: int) -> str:
    """The step ``offset`` (+1 next, -1 back) from ``step`` among :func:`steps_for` ``answers``;
    a step left out counts from where it would be."""
    steps = steps_for(answers)
    position = STEPS.index(step)
    if step in steps:
        index = steps.index(step) + offset
    else:  # the first kept step after it (next) or before it (back)
        later = [steps.index(s) for s in STEPS[position + 1:] if s in steps]
        index = later[0] if offset > 0 else later[0] - 1
    return steps[min(max(index, 0), len(steps) - 1)]


class TaskStep(forms.Form):
    task_name = forms.ChoiceField(required=False, label="Task")
    score_name = forms.ChoiceField(required=False, label="Score", initial="uncertainty_margin")

    def __init__(self, *args, dataset: Dataset, required: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.tasks = {t.name: t for t in dataset.tasks.all()}
        self.required = required
        task_field = cast(forms.ChoiceField, self.fields["task_name"])
        task_field.choices = [("", "(choose a task)" if required else "(none)")] + [
            (t.name, f"{t.name} ({t.task_type}, {t.coverage} of {t.n_images} images)") for t in self.tasks.values()
        ]
        if len(self.tasks) == 1 and required:
            task_field.initial = next(iter(self.tasks))
        #: Score names by task, for wizard.js to offer only the chosen task's.
        self.scores_by_task = {name: list(t.score_names) for name, t in self.tasks.items()}
        task_field.widget.attrs["data-scores"] = json.dumps(self.scores_by_task)
        score_field = cast(forms.ChoiceField, self.fields["score_name"])
        # Any task's score is a valid choice (``clean`` checks it against the chosen task); the
        # chosen task's own are the ones shown.
        score_field.choices = [(s, s) for s in sorted({s for names in self.scores_by_task.values() for s in names})]
        chosen = self.chosen_task()
        shown = self.scores_by_task.get(chosen, []) if chosen else []
        cast(forms.Select, score_field.widget).choices = [(s, s) for s in shown]
        if shown and (self.initial.get("score_name") or score_field.initial) not in shown:
            score_field.initial = shown[0]

    def chosen_task(self) -> str:
        """The task shown as chosen: the submitted one, the earlier answer, or the only one."""
        if self.is_bound:
            return str(self.data.get(self.add_prefix("task_name")) or "")
        return str(self.initial.get("task_name") or self.fields["task_name"].initial or "")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        task = data.get("task_name")
        if self.required and not task:
            if not self.tasks:
                raise forms.ValidationError(
                    "This method needs predictions, and this dataset has none: upload them on the dataset page, "
                    "or go back and choose coreset or random."
                )
            self.add_error("task_name", "Choose the task whose predictions score the images.")
        if task:
            known = self.tasks[task]
            try:
                check_score(task, known.task_type, data.get("score_name") or "", key="score_name")
            except ConfigError:
                self.add_error("score_name", f"Task {task} ({known.task_type}) has the scores {', '.join(known.score_names)}.")
        return data


def parse_n_samples(text: str | None) -> int | float | None:
    """The stopping step's text as the number ``stopping_condition.n_samples`` takes, read by the
    engine's :func:`count_or_fraction` (a whole number is a count, a float in (0, 1] a fraction)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value: int | float = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            raise forms.ValidationError(f"{text!r} is not a number: give a count (e.g. 100) or a fraction (e.g. 0.1).") from None
    try:
        if value > 0:  # the engine's -1 ("inactive") is spelled as an empty field here
            count_or_fraction(value)
            return value
    except ConfigError:
        pass
    raise forms.ValidationError(f"{text} is neither a count >= 1 nor a fraction between 0 and 1.")


class StoppingStep(forms.Form):
    n_samples = forms.CharField(
        required=False, initial="0.1", label="Number of samples",
        help_text="A count (e.g. 100) or a fraction of the dataset (e.g. 0.1).",
    )
    min_distance = forms.FloatField(
        required=False, min_value=0, label="Minimum distance",
        help_text="Stop once every remaining image lies closer than this to a selected one (optional).",
    )

    def __init__(self, *args, strategies: bool, n_images: int | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.strategies = strategies
        #: The dataset's image count at its last connection test (None: never counted).
        self.n_images = n_images
        if n_images is not None:
            field = self.fields["n_samples"]
            field.help_text = f"{field.help_text} This dataset holds {n_images} images."

    def clean_n_samples(self):
        value = parse_n_samples(self.cleaned_data.get("n_samples"))
        if self.n_images is not None and isinstance(value, int) and value > self.n_images:
            raise forms.ValidationError(
                f"{value} is more images than this dataset holds ({self.n_images}): give at most {self.n_images}, "
                "or a fraction such as 0.25."
            )
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        if data.get("n_samples") is None and data.get("min_distance") is None:
            raise forms.ValidationError("Set the number of samples, a minimum distance, or both.")
        if self.strategies and data.get("n_samples") is None and not data.get("min_distance"):
            self.add_error("n_samples", "Strategies need a number of samples.")
        return data


class EmbeddingsStep(forms.Form):
    model_name = forms.ChoiceField(choices=[(m, m) for m in MODEL_NAMES], initial="resnet-18", label="Backbone")
    num_ftrs = forms.IntegerField(min_value=2, max_value=MAX_NUM_FTRS, initial=32, label="Embedding size")
    input_size = forms.IntegerField(min_value=16, max_value=MAX_INPUT_SIZE, initial=64, label="Input size (pixels)")
    enable_training = forms.BooleanField(required=False, label="Train the backbone on this dataset first (SimCLR)")
    max_epochs = forms.IntegerField(
        required=False, min_value=1, max_value=1000, initial=10, label="Training epochs",
        help_text="Used only when training is on.",
    )
    checkpoint = forms.ChoiceField(required=False, label="Start from the checkpoint of an earlier run")

    #: The fields that only matter while training is on (wizard.js enables them with the box).
    TRAINING_FIELDS = ("max_epochs",)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        checkpoint = cast(forms.ChoiceField, self.fields["checkpoint"])
        checkpoint.choices = [("", "(none: random weights)")] + selectors.checkpoints_of(user)
        training = self.data.get("enable_training") if self.is_bound else self.initial.get("enable_training")
        for name in self.TRAINING_FIELDS:
            self.fields[name].widget.attrs["data-training"] = "true"
            if not training:
                self.fields[name].widget.attrs["disabled"] = True

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("max_epochs") is None and "max_epochs" not in self.errors:
            if data.get("enable_training"):
                self.add_error("max_epochs", "Give the number of training epochs.")
            else:  # disabled while training is off, so not sent: keep the earlier value
                data["max_epochs"] = self.initial.get("max_epochs") or self.fields["max_epochs"].initial
        return data


class OptionsStep(forms.Form):
    enable_corruptness_check = forms.BooleanField(required=False, initial=True, label="Skip corrupt images")
    remove_exact_duplicates = forms.BooleanField(required=False, initial=True, label="Remove exact duplicates")
    dump_dataset = forms.BooleanField(required=False, label="Copy the selected images into the run's output")
    invalid_predictions = forms.ChoiceField(
        choices=[("fail", "Fail the run"), ("skip", "Skip the bad files")], initial="fail",
        label="Invalid prediction files",
    )
    n_example_images = forms.IntegerField(min_value=0, max_value=50, initial=6, label="Example images in the report")
    datapool = forms.SlugField(
        required=False, label="Datapool",
        help_text="A name: later runs with the same datapool do not pick the same images again.",
    )
    labeled_tag = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="Already labeled",
        help_text="A tag of the images you have labeled already: they count as selected for diversity and are never picked.",
    )

    def __init__(self, *args, dataset: Dataset, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["labeled_tag"]).choices = [("", "(none)")] + [
            (tag.pk, f"{tag.name} ({tag.size} images)") for tag in dataset.tags.all()
        ]


def _json_field(label: str, required: bool = True, **attrs: str) -> forms.CharField:
    textarea = forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "json", **attrs})
    return forms.CharField(label=label, required=required, widget=textarea)


def document_text(document: dict | None) -> str:
    """A config document as the review step shows it: indented JSON, "" for none (never "null")."""
    return "" if document is None else json.dumps(document, indent=2)


class ReviewStep(forms.Form):
    worker_config = _json_field("Worker config")
    lightly_config = _json_field("Lightly config")
    selection_config = _json_field(
        "Selection config", required=False,
        placeholder="(none: the worker config's method and stopping condition decide)",
    )
    preset_name = forms.CharField(
        required=False, max_length=Preset._meta.get_field("name").max_length, label="Save as preset named",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("worker_config", "lightly_config", "selection_config"):
            text = str((self.data.get(name) if self.is_bound else self.initial.get(name)) or "")
            # Every line visible: no document is clipped behind a scroll bar (wizard.js grows
            # the box as it is edited).
            self.fields[name].widget.attrs["rows"] = max(4, text.count("\n") + 2)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for name in ("worker_config", "lightly_config", "selection_config"):
            text = (data.get(name) or "").strip()
            if not text or text == "null":
                data[name] = None
                continue
            try:
                data[name] = parse_json(text, name)  # depth, NaN/Infinity checked: never a 500
            except InputError as exc:
                self.add_error(name, f"{exc}.")
                continue
            if not isinstance(data[name], dict):
                self.add_error(name, "Must be a JSON object ({...}).")
        return data


def build_configs(answers: dict, dataset: Dataset) -> tuple[dict, dict, dict | None]:
    """(worker_config, lightly_config, selection_config or None) from the wizard's answers."""
    method = answers.get("method", {})
    task = answers.get("task", {})
    stop = answers.get("stopping", {})
    emb = answers.get("embeddings", {})
    opts = answers.get("options", {})
    worker: dict = {
        "enable_corruptness_check": opts.get("enable_corruptness_check", True),
        "remove_exact_duplicates": opts.get("remove_exact_duplicates", True),
        "dump_dataset": opts.get("dump_dataset", False),
        "n_example_images": opts.get("n_example_images", 6),
        "enable_training": emb.get("enable_training", False),
    }
    if opts.get("invalid_predictions", "fail") != "fail":
        worker["invalid_predictions"] = opts["invalid_predictions"]
    if opts.get("datapool"):
        worker["datapool"] = {"name": opts["datapool"]}
    if emb.get("checkpoint"):
        worker["checkpoint"] = emb["checkpoint"]
    lightly = {
        "model": {"name": emb.get("model_name", "resnet-18"), "num_ftrs": emb.get("num_ftrs", 32)},
        "collate": {"input_size": emb.get("input_size", 64)},
        "trainer": {"max_epochs": emb.get("max_epochs", 10)},
    }
    n, distance = stop.get("n_samples"), stop.get("min_distance")
    # An answer left from another method (coral, then back to coreset) does not count.
    task_name = task.get("task_name", "") if needs_task(answers) else ""
    score_name = task.get("score_name", "uncertainty_margin")
    if method.get("method", "coral") != "strategies":
        worker["method"] = method.get("method", "coral")
        worker["stopping_condition"] = {k: v for k, v in (("n_samples", n), ("min_distance", distance)) if v is not None}
        if task_name:
            worker["active_learning"] = {"task_name": task_name, "score_name": score_name}
        return worker, lightly, None
    selection: dict = {}
    if n is not None:
        wanted = count_or_fraction(n)
        amounts = (("n_samples", wanted.count), ("proportion_samples", wanted.fraction))
        selection.update({k: v for k, v in amounts if v is not None})
    strategies: list[dict[str, Any]] = []
    if method.get("use_diversity"):
        diversity: dict[str, Any] = {"type": "DIVERSITY"}
        if distance is not None:
            diversity["stopping_condition_minimum_distance"] = distance
        strategies.append({"input": {"type": "EMBEDDINGS"}, "strategy": diversity})
    if method.get("use_scores") and task_name:
        strategies.append({"input": {"type": "SCORES", "task": task_name, "score": score_name}, "strategy": {"type": "WEIGHTS"}})
    if method.get("balance_classes") and task_name:
        categories: list[str] = next((t.categories for t in dataset.tasks.all() if t.name == task_name), [])
        if categories:
            share = round(1 / len(categories), 6)
            strategies.append({
                "input": {"type": "PREDICTIONS", "task": task_name, "name": "CLASS_DISTRIBUTION"},
                "strategy": {"type": "BALANCE", "target": dict.fromkeys(categories, share)},
            })
    selection["strategies"] = strategies
    return worker, lightly, selection


#: How the summary names a selection strategy (by input and strategy type).
_STRATEGY_WORDS = {"DIVERSITY": "diversity", "WEIGHTS": "scores", "BALANCE": "class balance", "THRESHOLD": "threshold",
                   "SIMILARITY": "similarity"}


def summary(texts: dict[str, str], n_images: int | None) -> str:
    """The review step's one line: method · how many of how many · task / score · backbone and
    weights · training, read from the documents as the engine resolves them (its defaults
    included), or what keeps them from resolving."""
    try:
        documents = [parse_json(text, name) if (text or "").strip() not in ("", "null") else None
                     for name, text in ((k, texts.get(k, "")) for k in ("worker_config", "lightly_config", "selection_config"))]
        config = resolve(*documents)
    except (WinnowError, TypeError, AttributeError, ValueError, KeyError) as exc:  # a summary never fails the page
        return f"The documents do not check out yet: {exc}"
    worker, selection = config.worker, config.selection
    kinds = [s.input.type if s.input.type == "RANDOM" else s.strategy.type for s in selection.strategies]
    if config.explicit_selection:
        words = [_STRATEGY_WORDS.get(k, k.lower()) for k in kinds]
        method = f"Strategies ({', '.join(dict.fromkeys(words)) or 'none'})"
    else:
        method = METHOD_LABELS.get(worker.method, worker.method)
    of = f" of {n_images} images" if n_images is not None else " images"
    if selection.n_samples not in (None, -1):
        amount = f"{selection.n_samples}{of}"
        if n_images is not None and selection.n_samples > n_images:
            amount += " (more than it holds: every candidate would be selected)"
    elif selection.proportion_samples is not None:
        about = f" (about {target_count(selection, n_images)})" if n_images is not None else ""
        amount = f"{selection.proportion_samples:.0%}{of}{about}"
    else:
        amount = ""
    distances = [s.strategy.stopping_condition_minimum_distance for s in selection.strategies
                 if s.strategy.stopping_condition_minimum_distance is not None]
    if distances:
        until = f"until every image lies within {distances[0]:g} of a selected one"
        amount = f"{amount}, or fewer {until}" if amount else f"As many as it takes {until}"
    scores = [f"{s.input.task} / {s.input.score}" for s in selection.strategies if s.input.type == "SCORES" and s.input.task]
    balance = [s.input.task for s in selection.strategies if s.input.type == "PREDICTIONS" and s.input.task]
    task = " · ".join(dict.fromkeys(scores)) or (f"{balance[0]} (class balance)" if balance else "no predictions used")
    weights = f"weights of {worker.checkpoint}" if worker.checkpoint else "random weights"
    training = f"trained {config.lightly.trainer.max_epochs} epochs first" if worker.enable_training else "no training"
    return " · ".join(part for part in (method, amount, task, f"{config.lightly.model.name}, {weights}", training) if part)


def review_configs(answers: dict, dataset: Dataset, user) -> tuple[dict, dict, dict | None]:
    """The review step's documents: :func:`build_configs`, plus the "already labeled" tag as a
    file in the user's folder named by ``labeled_filenames_file`` (a tag deleted since is left out)."""
    worker, lightly, selection = build_configs(answers, dataset)
    tag_pk = answers.get("options", {}).get("labeled_tag")
    tag = dataset.tags.filter(pk=tag_pk).first() if tag_pk else None
    if tag is not None:
        worker["labeled_filenames_file"] = services.write_labeled_file(user, tag)
    return worker, lightly, selection


@dataclass
class WizardState:
    """The wizard's answers in the session: {"answers": {step: cleaned data}, "review": {...}}."""

    session: SessionBase

    @property
    def data(self) -> dict:
        return self.session.setdefault(SESSION_KEY, {"answers": {}, "review": None})

    def answers(self) -> dict:
        return self.data["answers"]

    def save(self, step: str, values: dict) -> None:
        data = self.data
        if data["answers"].get(step) != values:
            data["answers"][step] = values
            if step != "review":
                data["review"] = None  # the documents change with the answers
        self.session.modified = True

    def save_review(self, texts: dict | None) -> None:
        self.data["review"] = texts
        self.session.modified = True

    def review(self) -> dict | None:
        return self.data.get("review")

    def clear(self) -> None:
        self.session.pop(SESSION_KEY, None)


def storable(cleaned: dict) -> dict:
    """Cleaned form data as JSON for the session (model instances by primary key)."""
    return {k: (v.pk if hasattr(v, "pk") else v) for k, v in cleaned.items()}
