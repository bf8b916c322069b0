"""Which prediction tasks and score names a config may name, and what their columns are called.

One home for the rule the pipeline (tasks from ``.lightly/predictions/tasks.json``), the web
app's services (tasks of a dataset in the database) and the wizard all apply. The check is pure:
the caller passes the task types it knows, ``{task name: task_type}``, and the wording of "no
such task" for its users; everything else (which inputs name a task, the key to blame, the valid
scores of a task type) is decided here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import ConfigError
from ..scoring import SCORE_NAMES
from .selection import SelectionConfig, StrategySpec

#: The engine's wording of "no tasks at all" (the pipeline reads the datasource's tasks.json).
NO_TASKS = "none (no .lightly/predictions/tasks.json in the datasource)"


def _unknown_task(task: str, available: str) -> str:
    return f"unknown task {task!r}; tasks: {available}"


def score_column(task: str, score: str) -> str:
    """The name of a task's score in scores.csv, selected_samples.csv and the gallery."""
    return f"{task}/{score}"


def task_of_column(column: str) -> str:
    """The task of a ``task/score`` column; "" for a plain CSV column name."""
    return column.split("/", 1)[0] if "/" in column else ""


def score_names(task_type: str) -> tuple[str, ...]:
    """The scores a task of this type has, in the order the scorers return them (none if unknown)."""
    return SCORE_NAMES.get(task_type, ())


def scores_input_column(spec: StrategySpec) -> str:
    """The score column a SCORES input reads: its CSV column, or ``task/score``."""
    return spec.input.column or score_column(spec.input.task, spec.input.score)


def primary_score(selection: SelectionConfig) -> str:
    """The score that orders a run's samples in the gallery: the first SCORES input ("" if none)."""
    for spec in selection.strategies:
        if spec.input.type == "SCORES":
            return scores_input_column(spec)
    return ""


@dataclass(frozen=True)
class TaskInput:
    """A strategy input that names a prediction task, with the keys a user would have to fix."""

    task: str
    #: The score it reads (SCORES only), else None.
    score: str | None
    task_key: str
    score_key: str


def task_inputs(selection: SelectionConfig, *, legacy: bool) -> list[TaskInput]:
    """Every SCORES/PREDICTIONS input naming a task. ``legacy``: the selection was made from
    ``method`` + ``active_learning`` (so errors name those keys, not ``selection_config``)."""
    found = []
    for i, spec in enumerate(selection.strategies):
        given = spec.input
        if given.type not in ("SCORES", "PREDICTIONS") or not given.task:
            continue
        where = f"selection_config.strategies[{i}].input"
        found.append(TaskInput(
            task=given.task,
            score=given.score if given.type == "SCORES" else None,
            task_key="active_learning.task_name" if legacy else f"{where}.task",
            score_key="active_learning.score_name" if legacy else f"{where}.score",
        ))
    return found


def check_score(task: str, task_type: str, score: str, *, key: str) -> None:
    """Refuse, with a ConfigError naming ``key``, a score that tasks of ``task_type`` do not have."""
    valid = score_names(task_type)
    if score not in valid:
        raise ConfigError(key, f"{task_type} task {task!r} has no score {score!r}; valid: {', '.join(valid)}")


def check_task_inputs(
    selection: SelectionConfig,
    task_types: Mapping[str, str],
    *,
    legacy: bool,
    unknown_task: Callable[[str, str], str] = _unknown_task,
    no_tasks: str = NO_TASKS,
) -> None:
    """Refuse, with a ConfigError naming the key, a task that is not in ``task_types`` or a score
    its task type does not have. ``unknown_task(task, available)`` words the first error for the
    caller's users; ``available`` lists the task names, or is ``no_tasks`` when there are none."""
    available = ", ".join(sorted(task_types)) or no_tasks
    for given in task_inputs(selection, legacy=legacy):
        if given.task not in task_types:
            raise ConfigError(given.task_key, unknown_task(given.task, available))
        if given.score is not None:
            check_score(given.task, task_types[given.task], given.score, key=given.score_key)
