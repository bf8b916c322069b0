"""The django-q2 task of an evaluation: load it, call the engine, record the outcome."""

from __future__ import annotations

from selection_engine.evaluation.command import evaluate
from selection_engine.progress import Reporter

from ..datasets.services import engine_source
from ..runs.progress import RunProgress
from ..runs.tasks import execute
from . import services


def execute_evaluation(evaluation_id: int) -> str:
    evaluation = services.start_evaluation(evaluation_id)
    if evaluation is None:
        return f"evaluation {evaluation_id} was not queued (canceled or already started); nothing to do"

    def work(progress: RunProgress) -> dict:
        config, options = services.engine_configs(evaluation)
        reporter = Reporter(progress.update, show_bars=False, stream=progress.stream)
        reporter.set_stage("evaluating", f"Evaluating selection on the labeled images of {evaluation.dataset.name}.")
        return evaluate(config, options, reporter, source=engine_source(evaluation.dataset))

    return execute(evaluation, work, lambda summary: services.complete_evaluation(evaluation, summary))
