"""Writes on runs: schedule (validated by the engine), start, re-run, load results (cancel and
finish are ``jobs``'s, shared with evaluations).

How a run flows (DESIGN.md): ``schedule_run`` validates the three documents with the engine and
saves a queued Run → django-q2 runs ``tasks.execute_run`` → progress is written to the Run →
``complete_run`` bulk-loads the selection for the gallery. A worker that vanishes is caught by
``fail_stale_runs`` (no heartbeat for STALE_RUN_SECONDS).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from selection_engine.config import RunConfig, resolve
from selection_engine.config.paths import config_paths
from selection_engine.config.tasks import check_task_inputs, primary_score
from selection_engine.errors import ConfigError, InputError
from selection_engine.fileio import atomic_write
from selection_engine.sources import safe_relpath

from .. import bulk, datadir
from ..validation import clean_name
from . import jobs, results
from .models import Preset, Run, RunSample

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from ..datasets.models import Dataset, Tag

#: A config document as JSON: an object.
Document = dict[str, Any]


def _as_object(name: str, value: Any, allow_none: bool = False) -> Document | None:
    if value is None or value == "":
        return None if allow_none else {}
    if not isinstance(value, dict):
        raise ConfigError(name, f"must be a JSON object, got {type(value).__name__}")
    return value


def server_keys(worker_config: dict[str, Any], run_directory: str = "") -> dict[str, Any]:
    """``worker_config`` with the keys the server decides, whatever a user sent: the run
    directory's name, and where the per-image work runs (``WINNOW_RAY_ADDRESS``; a user must
    not point the server at a host of their choosing)."""
    return {**worker_config, "run_directory": run_directory, "ray_address": settings.RAY_ADDRESS}


def validate_configs(
    user: User, dataset: Dataset, *, worker_config: Any, lightly_config: Any, selection_config: Any, run_directory: str = ""
) -> RunConfig:
    """The engine's RunConfig for these documents (as a user sent them: anything but a JSON
    object is refused), or a ConfigError naming the bad key.

    Besides the engine's own checks: every path-valued key stays inside the user's folder
    (:func:`confine_paths`), and the active-learning tasks must exist in the dataset.
    """
    worker = server_keys(_as_object("worker_config", worker_config) or {}, run_directory)
    lightly = _as_object("lightly_config", lightly_config)
    selection = _as_object("selection_config", selection_config, allow_none=True)
    config = resolve(
        worker, lightly, selection, shared_dir=str(datadir.user_dir(user.pk)), output_dir=str(datadir.runs_dir(user.pk)),
    )
    confine_paths(config, user)
    _check_tasks(config, dataset)
    return config


#: For the messages: what a relative value of each kind looks like, and what a missing one is.
_EXAMPLES = {"file": "e.g. runs/run-3/checkpoints/...", "run": "an earlier run, e.g. run-3", "folder": "a plain name"}
_MISSING = {"file": "no file {} in your folder", "run": "no run directory {} in your folder"}


def confine_paths(config: RunConfig, user: User) -> None:
    """Refuse, with a ConfigError naming the key, any path-valued key of ``config`` (the engine's
    :func:`config_paths`) that is absolute, climbs out with ``..``, leads out of the user's folder
    through a symlink, or names a file or run directory to read that is not there."""
    home = datadir.user_dir(user.pk)
    real_home = home.resolve()
    for entry in config_paths(config):
        try:
            path = entry.path()  # the engine's own checks first (a datapool name's spelling)
            safe_relpath(entry.value, entry.key)
        except InputError:
            raise ConfigError(
                entry.key, f"must be a path relative to your folder ({_EXAMPLES[entry.kind]}), got {entry.value!r}"
            ) from None
        shown = path.relative_to(home).as_posix()
        try:
            real = path.resolve()  # follows every symlink on the way, also of folders not made yet
            usable = entry.kind == "folder" or (real.is_dir() if entry.kind == "run" else real.is_file())
        except (OSError, RuntimeError):  # a name longer than the system allows, a symlink loop
            raise ConfigError(entry.key, _MISSING.get(entry.kind, "{} cannot be made in your folder").format(shown)) from None
        if not real.is_relative_to(real_home):
            raise ConfigError(entry.key, f"{shown} leads outside your folder (through a symbolic link)")
        if not usable:
            raise ConfigError(entry.key, _MISSING[entry.kind].format(shown))


def _check_tasks(config: RunConfig, dataset: Dataset) -> None:
    """The engine's task/score rule, against the tasks of ``dataset`` in the database."""
    check_task_inputs(
        config.selection, {t.name: t.task_type for t in dataset.tasks.all()}, legacy=not config.explicit_selection,
        unknown_task=lambda task, available: f"dataset {dataset.name} has no task {task!r} (available: {available})",
        no_tasks="none: upload predictions on the dataset page first",
    )


def write_labeled_file(user: User, tag: Tag) -> str:
    """Write ``tag``'s filenames (the plain-list export: one per line) to ``labeled/tag-<pk>.txt``
    in the user's folder; its path relative to that folder, for ``labeled_filenames_file``."""
    from ..datasets import exports

    if tag.dataset.owner_id != user.pk:
        raise PermissionError("not your tag")
    relative = datadir.labeled_file(tag.pk)
    with atomic_write(datadir.user_dir(user.pk) / relative) as handle:
        handle.write(exports.render(exports.of_tag(tag), "txt"))
    return relative


def schedule_run(
    user: User, dataset: Dataset, *, worker_config: Document | None = None, lightly_config: Document | None = None,
    selection_config: Document | None = None, rerun_of: Run | None = None,
) -> Run:
    """Validate and queue a run; raises ConfigError (nothing is saved then)."""
    if dataset.owner_id != user.pk:
        raise PermissionError("not your dataset")
    config = validate_configs(
        user, dataset, worker_config=worker_config, lightly_config=lightly_config, selection_config=selection_config
    )
    with transaction.atomic():
        run = Run.objects.create(
            owner=user,
            dataset=dataset,
            worker_config=worker_config or {},
            lightly_config=lightly_config or {},
            selection_config=selection_config or None,
            primary_score=primary_score(config.selection),
            rerun_of=rerun_of,
        )
        jobs.enqueue(run, "webapp.runs.tasks.execute_run")
    return run


def save_preset(
    user: User, dataset: Dataset, *, name: str, worker_config: Document | None, lightly_config: Document | None,
    selection_config: Document | None,
) -> Preset:
    """Save (or overwrite) a named preset; the name is checked (a ValidationError keyed ``name``)
    and the documents are validated like a run's."""
    name = clean_name(Preset, name)
    validate_configs(user, dataset, worker_config=worker_config, lightly_config=lightly_config, selection_config=selection_config)
    preset, _ = Preset.objects.update_or_create(
        owner=user, name=name,
        defaults={
            "worker_config": worker_config or {}, "lightly_config": lightly_config or {}, "selection_config": selection_config,
        },
    )
    return preset


def rerun(run: Run) -> Run:
    """A new run of the same dataset with the same submitted documents; only of a finished run
    (completed, failed or canceled): a ConfigError keyed ``state`` otherwise."""
    if not run.is_finished:
        raise ConfigError("state", f"run {run.pk} is still {run.state}: re-run it once it has finished, or cancel it first")
    return schedule_run(
        run.owner, run.dataset, worker_config=run.worker_config, lightly_config=run.lightly_config,
        selection_config=run.selection_config, rerun_of=run,
    )


def engine_config(run: Run) -> RunConfig:
    return validate_configs(
        run.owner, run.dataset, worker_config=run.worker_config, lightly_config=run.lightly_config,
        selection_config=run.selection_config, run_directory=datadir.run_directory_name(run.pk),
    )


def start_run(run_id: int) -> Run | None:
    """The run, moved from queued to running (``jobs.claim``); None if it was not queued."""
    return Run.objects.select_related("dataset", "owner").get(pk=run_id) if jobs.claim(Run, run_id) else None


def fail_stale_runs() -> int:
    """Fail running runs whose worker stopped sending heartbeats (killed, crashed, machine gone)."""
    return jobs.fail_stale(Run)


def complete_run(run: Run, *, run_dir: Path, n_selected: int) -> None:
    """Load the run's samples into the database, tag its selection, then mark it completed; all
    in one transaction, so a failure leaves no samples and the run not completed.

    The samples stream from the run directory into ``bulk.insert`` (COPY on PostgreSQL): a
    million-sample run never holds a million model instances.
    """
    from ..datasets.models import Tag, TagItem

    samples = results.SampleRows(run, run_dir)
    with transaction.atomic():
        RunSample.objects.filter(run=run).delete()
        bulk.insert(RunSample, results.SampleRow._fields, samples)
        tag, _ = Tag.objects.update_or_create(
            dataset=run.dataset, name=f"run-{run.pk}-selected",
            defaults={"run": run, "query": {}, "size": len(samples.selected)},
        )
        tag.items.all().delete()
        bulk.insert(TagItem, ("tag_id", "filename"), ((tag.pk, name) for name in samples.selected))
        Run.objects.filter(pk=run.pk).update(
            state=Run.COMPLETED, n_selected=n_selected, finished_at=timezone.now(), stage="done", error="",
            facts=samples.kinds.facts(),
        )
