"""The django-q2 task of an evaluation: load it, call the engine, record the outcome."""

from __future__ import annotations

import logging

from selection_engine.errors import Canceled, WinnowError
from selection_engine.evaluation.command import evaluate
from selection_engine.progress import Reporter

from ..datasets.services import engine_source
from ..runs.progress import RunProgress
from ..runs.tasks import child_processes_allowed
from . import services
from .models import Evaluation

log = logging.getLogger(__name__)


def execute_evaluation(evaluation_id: int) -> str:
    evaluation = services.start_evaluation(evaluation_id)
    if evaluation is None:
        return f"evaluation {evaluation_id} was not queued (canceled or already started); nothing to do"
    progress = RunProgress(evaluation)
    try:
        with progress, child_processes_allowed():
            config, options = services.engine_configs(evaluation)
            reporter = Reporter(progress.update, show_bars=False, stream=progress.stream)
            reporter.set_stage("evaluating", f"Evaluating selection on the labeled images of {evaluation.dataset.name}.")
            summary = evaluate(config, options, reporter, source=engine_source(evaluation.dataset))
        services.complete_evaluation(evaluation, summary)
        return "completed"
    except Canceled:
        services.finish_evaluation(evaluation, Evaluation.CANCELED, "Canceled by the user while running.")
        return "canceled"
    except WinnowError as exc:
        services.finish_evaluation(evaluation, Evaluation.FAILED, str(exc))
        return "failed"
    except Exception as exc:  # a bug: keep the traceback in the worker log, tell the user plainly
        log.exception("evaluation %s failed with an internal error", evaluation_id)
        services.finish_evaluation(
            evaluation, Evaluation.FAILED, f"Internal error ({type(exc).__name__}: {exc}); the worker log has the details."
        )
        return "failed"
