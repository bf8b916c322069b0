"""Run pages: the list, one run with live progress, its artifacts, and the wizard."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from selection_engine.errors import ConfigError

from ..datasets.selectors import dataset_of, datasets_of
from ..validation import QueryError, id_param
from . import jobs, progress, results, selectors, services, wizard
from .artifacts import artifact_response, artifacts_of
from .models import Preset


@login_required
def run_list(request):
    runs = [(run, progress.stage_words(run.stage, run.state)) for run in selectors.runs_of(request.user)[:200]]
    return render(request, "runs/list.html", {"runs": runs})


@login_required
def run_detail(request, pk: int):
    run = selectors.run_of(request.user, pk)
    artifacts = artifacts_of(run) if run.is_finished else []
    return render(request, "runs/detail.html", {
        "run": run,
        "status": progress.run_status(run),
        "headline": results.headline(run),
        "artifacts": artifacts,
        "has_report_pdf": any(name == "report.pdf" for name, _size in artifacts),
        "configs": {
            "worker_config": wizard.document_text(run.worker_config),
            "lightly_config": wizard.document_text(run.lightly_config),
            "selection_config": wizard.document_text(run.selection_config) or "(none: the worker config's method decides)",
        },
    })


@login_required
def run_status(request, pk: int):
    return JsonResponse(progress.run_status(selectors.run_of(request.user, pk)))


@login_required
@require_POST
def run_cancel(request, pk: int):
    messages.info(request, jobs.cancel(selectors.run_of(request.user, pk)))
    return redirect("runs:detail", pk=pk)


@login_required
@require_POST
def run_rerun(request, pk: int):
    run = selectors.run_of(request.user, pk)
    try:
        new = services.rerun(run)
    except ConfigError as exc:
        messages.error(request, f"Cannot re-run: {exc}")
        return redirect("runs:detail", pk=pk)
    messages.success(request, f"Run {new.pk} submitted with the configs of run {run.pk}.")
    return redirect("runs:detail", pk=new.pk)


@login_required
def run_artifact(request, pk: int, name: str):
    return artifact_response(selectors.run_of(request.user, pk), name, in_place=True)


# -- the wizard ------------------------------------------------------------------------------

def _step_url(step: str) -> str:
    return reverse("runs:wizard", kwargs={"step": step})


@login_required
def wizard_start(request):
    """``/runs/new/`` opens the wizard (an unfinished one resumes); ``?dataset=<id>`` starts
    afresh with that dataset chosen."""
    try:
        chosen = id_param(request.GET, "dataset", "a dataset id")
    except QueryError as exc:
        messages.error(request, str(exc))
        return redirect(_step_url("dataset"))
    if chosen is not None:
        dataset = dataset_of(request.user, chosen)
        state = wizard.WizardState(request.session)
        state.clear()
        state.save("dataset", {"dataset": dataset.pk, "preset": None})
    return redirect(_step_url("dataset"))


def _chosen_dataset(request, answers: dict):
    """The wizard's dataset, None when none is chosen or it was deleted since."""
    pk = answers.get("dataset", {}).get("dataset")
    return datasets_of(request.user).filter(pk=pk).first() if pk else None


def _form_for(step: str, request, answers: dict, data=None):
    initial = answers.get(step)
    if step == "dataset":
        return wizard.DatasetStep(data, initial=initial, user=request.user)
    dataset = _chosen_dataset(request, answers)
    if dataset is None:
        return None
    if step == "method":
        return wizard.MethodStep(data, initial=initial, dataset=dataset)
    if step == "task":
        return wizard.TaskStep(data, initial=initial, dataset=dataset, required=wizard.needs_task(answers))
    if step == "stopping":
        strategies = answers.get("method", {}).get("method") == "strategies"
        return wizard.StoppingStep(data, initial=initial, strategies=strategies, n_images=dataset.image_count)
    if step == "embeddings":
        return wizard.EmbeddingsStep(data, initial=initial, user=request.user)
    if step == "options":
        return wizard.OptionsStep(data, initial=initial, dataset=dataset)
    if step == "review":
        review = wizard.WizardState(request.session).review()
        if review is None:
            documents = wizard.review_configs(answers, dataset, request.user)
            names = ("worker_config", "lightly_config", "selection_config")
            review = {name: wizard.document_text(doc) for name, doc in zip(names, documents)}
        return wizard.ReviewStep(data, initial=review)
    raise Http404("No such step")


def _render_step(request, form, step: str, answers: dict, dataset, reached=None):
    steps = wizard.steps_for(answers)
    context = {
        "form": form,
        "step": step,
        "title": wizard.TITLES[step],
        "steps": [(s, wizard.TITLES[s], s in answers or s == step if reached is None else reached) for s in steps],
        "first": step == steps[0],
        "last": step == "review",
        "dataset": dataset,
    }
    if step == "review":
        texts = form.data if form.is_bound else form.initial
        context["summary"] = wizard.summary(texts, dataset.image_count if dataset else None)
    if step == "method" and dataset is not None and not form.has_predictions:
        context["coral_unavailable"] = True
    return render(request, "runs/wizard_step.html", context)


@login_required
def wizard_step(request, step: str):
    if step not in wizard.STEPS:
        raise Http404("No such step")
    state = wizard.WizardState(request.session)
    answers = state.answers()
    if step not in wizard.steps_for(answers):  # the task step of a method without predictions
        return redirect(_step_url(wizard.neighbour_step(answers, step, +1)))
    form = _form_for(step, request, answers, request.POST if request.method == "POST" else None)
    if form is None:  # a later step before a dataset was chosen (or after it was deleted)
        return redirect(_step_url("dataset"))
    action = request.POST.get("action", "next")
    if request.method == "POST":
        if action == "back":
            if step == "review":
                state.save_review({k: request.POST.get(k, "") for k in ("worker_config", "lightly_config", "selection_config")})
            elif form.is_valid():
                state.save(step, wizard.storable(form.cleaned_data))
            return redirect(_step_url(wizard.neighbour_step(state.answers(), step, -1)))
        if form.is_valid():
            if step == "review":
                return _review_submit(request, state, form, action)
            state.save(step, wizard.storable(form.cleaned_data))
            if step == "dataset" and form.cleaned_data.get("preset"):
                preset: Preset = form.cleaned_data["preset"]
                state.save_review({
                    "worker_config": wizard.document_text(preset.worker_config),
                    "lightly_config": wizard.document_text(preset.lightly_config),
                    "selection_config": wizard.document_text(preset.selection_config),
                })
                return redirect(_step_url("review"))
            return redirect(_step_url(wizard.neighbour_step(state.answers(), step, +1)))
    return _render_step(request, form, step, answers, _chosen_dataset(request, answers))


def _review_submit(request, state: wizard.WizardState, form: wizard.ReviewStep, action: str):
    data = form.cleaned_data
    state.save_review({k: request.POST.get(k, "") for k in ("worker_config", "lightly_config", "selection_config")})
    dataset = _chosen_dataset(request, state.answers())
    if dataset is None:
        return redirect(_step_url("dataset"))
    documents = {key: data[key] for key in ("worker_config", "lightly_config", "selection_config")}
    if action == "preset" and not data.get("preset_name"):
        form.add_error("preset_name", "Give the preset a name.")
    else:
        try:
            if action == "preset":
                services.save_preset(request.user, dataset, name=data["preset_name"], **documents)
                messages.success(request, f"Saved preset {data['preset_name']}.")
                return redirect(_step_url("review"))
            run = services.schedule_run(request.user, dataset, **documents)
        except ValidationError as exc:  # the preset's name
            form.add_error("preset_name", exc.message_dict["name"])
        except ConfigError as exc:
            form.add_error(None, str(exc))
        else:
            state.clear()
            messages.success(request, f"Run {run.pk} submitted.")
            return redirect("runs:detail", pk=run.pk)
    return _render_step(request, form, "review", state.answers(), dataset, reached=True)
