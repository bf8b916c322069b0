"""Evaluation pages: start one on a dataset, follow its progress, read its result."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..datasets.selectors import dataset_of
from ..runs import jobs
from ..runs.artifacts import artifact_response, artifacts_of
from . import plots, selectors, services
from .forms import EvaluationForm


@login_required
def evaluation_new(request, pk: int):
    dataset = dataset_of(request.user, pk)
    form = EvaluationForm(request.POST or None, request.FILES or None, user=request.user, dataset=dataset)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            evaluation = services.create_evaluation(
                request.user, dataset, labels_source=data["labels_source"], labels_csv=data.get("labels_csv"),
                embeddings=data.get("embeddings") or "", methods=data.get("methods") or [],
                initial=data["initial"], per_round=data["per_round"], rounds=data["rounds"], seeds=data["seeds"],
                input_size=data["input_size"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Evaluation {evaluation.pk} is queued.")
            return redirect("evaluations:detail", pk=evaluation.pk)
    return render(request, "evaluations/new.html", {"dataset": dataset, "form": form})


@login_required
def evaluation_detail(request, pk: int):
    evaluation = selectors.evaluation_of(request.user, pk)
    completed = evaluation.state == evaluation.COMPLETED
    return render(request, "evaluations/detail.html", {
        "evaluation": evaluation,
        "status": selectors.status(evaluation),
        "rows": selectors.method_rows(evaluation) if completed else [],
        "figures": plots.accuracy_figures(evaluation) if completed else [],
        "artifacts": artifacts_of(evaluation) if evaluation.is_finished else [],
    })


@login_required
def evaluation_status(request, pk: int):
    return JsonResponse(selectors.status(selectors.evaluation_of(request.user, pk)))


@login_required
@require_POST
def evaluation_cancel(request, pk: int):
    messages.info(request, jobs.cancel(selectors.evaluation_of(request.user, pk)))
    return redirect("evaluations:detail", pk=pk)


@login_required
def evaluation_artifact(request, pk: int, name: str):
    return artifact_response(selectors.evaluation_of(request.user, pk), name, in_place=True)
