"""Writes and checks on datasets: datasources, connection tests, the tasks of a dataset.

The same functions serve the pages, the API and the worker; they raise Django's
``ValidationError`` keyed by field for bad input, so forms and serializers show it in place.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from selection_engine.errors import WinnowError
from selection_engine.formats.predictions import (
    LoadedPredictions,
    load_predictions,
    read_task_names,
)
from selection_engine.sources import (
    DATASOURCE_KEYS,
    SECRET_KEYS,
    OverlaySource,
    Source,
    datasource_keys,
    source_from_spec,
)

from .. import datadir
from ..validation import clean_name
from .models import Dataset, PredictionTask

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

#: Datasource fields (the engine's keys, and the type); editing any of them points the dataset
#: at other images.
SOURCE_FIELDS = ("source_type", *datasource_keys())


def allowed_local_path(path: str) -> Path:
    """The real path of a local datasource, or a ValidationError saying why it is refused.

    The path must exist, be a folder, and lie (after resolving symlinks) under one of the
    deployment's ``WINNOW_DATASOURCE_ROOTS``.
    """
    if not path or not path.strip():
        raise ValidationError({"path": "A local datasource needs the path of a folder."})
    given = Path(path.strip()).expanduser()
    if not given.is_absolute():
        raise ValidationError({"path": f"{path} is not an absolute path."})
    real = given.resolve()
    roots = settings.DATASOURCE_ROOTS
    if not any(real == root or root in real.parents for root in roots):
        allowed = ", ".join(str(r) for r in roots) or "none configured"
        raise ValidationError({"path": (
            f"{path} is not under an allowed datasource root ({allowed}); "
            "ask your admin to add it to WINNOW_DATASOURCE_ROOTS."
        )})
    if not real.is_dir():
        raise ValidationError({"path": f"{path} does not exist or is not a folder."})
    return real


def check_name_free(owner: User, name: str, *, dataset_pk: int | None = None) -> str:
    """The stripped name, or a ValidationError when it is not a valid name or the owner already
    has a dataset of that name."""
    name = clean_name(Dataset, name)
    same_name = Dataset.objects.filter(owner=owner, name=name)
    if dataset_pk is not None:  # renaming: the dataset itself does not count
        same_name = same_name.exclude(pk=dataset_pk)
    if same_name.exists():
        raise ValidationError({"name": f"You already have a dataset named {name}."})
    return name


def update_datasource(dataset: Dataset, values: Mapping[str, str | None]) -> set[str]:
    """Copy a datasource a user sent (``source_type`` and the engine's datasource keys; a missing
    key is blank) onto ``dataset``; the names of the fields that changed. Nothing is saved or
    checked here (:func:`save_dataset` does both).

    A blank secret keeps the stored one while the access key id stays set: forms never show a
    stored secret and the API never returns it, so a user cannot send it back.
    """
    kind = values.get("source_type") or dataset.source_type
    new = {"source_type": kind, **{key: (values.get(key) or "").strip() for key in datasource_keys()}}
    for key in SECRET_KEYS:
        if not new[key] and new["access_key_id"] and kind == dataset.source_type:
            new[key] = getattr(dataset, key)
    changed = {key for key, value in new.items() if getattr(dataset, key) != value}
    for key, value in new.items():
        setattr(dataset, key, value)
    return changed


def clean_datasource(dataset: Dataset) -> None:
    """Normalise and check the datasource fields of an unsaved or edited dataset."""
    if dataset.source_type not in DATASOURCE_KEYS:
        raise ValidationError({"source_type": f"Unknown datasource type {dataset.source_type!r}."})
    for name in set(datasource_keys()) - set(DATASOURCE_KEYS[dataset.source_type]):
        setattr(dataset, name, "")  # keys of the other types
    if dataset.source_type == Dataset.LOCAL:
        dataset.path = str(allowed_local_path(dataset.path))
    else:
        dataset.prefix = dataset.prefix.strip().strip("/")
        try:
            datasource(dataset)
        except WinnowError as exc:
            key = getattr(exc, "key", "").removeprefix("datasource.") or "bucket"
            raise ValidationError({key if key in SOURCE_FIELDS else "bucket": getattr(exc, "reason", str(exc))}) from None


def datasource(dataset: Dataset) -> Source:
    """The engine's source for the dataset's datasource, as it is now; an S3 endpoint must be one
    the deployment allows (``WINNOW_S3_ALLOWED_ENDPOINTS``), when saved and at every use."""
    return source_from_spec(dataset.datasource_spec(), endpoint_policy=settings.S3_ENDPOINT_POLICY)


def engine_source(dataset: Dataset) -> OverlaySource:
    """The engine's view of the dataset: its datasource with uploaded ``.lightly`` files on top.

    A local path is checked against the allowed roots again: a symlink may have moved since.
    """
    if dataset.source_type == Dataset.LOCAL:
        try:
            allowed_local_path(dataset.path)
        except ValidationError as exc:
            raise WinnowError(" ".join(exc.messages)) from None
    return OverlaySource(datasource(dataset), dataset.uploads_dir)


def save_dataset(dataset: Dataset, *, changed: set[str] | None = None) -> Dataset:
    """Create or update a dataset; ``changed`` names the edited fields (None: all, i.e. new)."""
    moved = changed is None or bool(changed & set(SOURCE_FIELDS))
    if moved:
        clean_datasource(dataset)
    with transaction.atomic():
        dataset.save()
    if moved and changed is not None:
        forget_thumbnails(dataset)
    return dataset


def delete_dataset(dataset: Dataset) -> None:
    """Delete the dataset, its uploads, thumbnails, runs, evaluations and their outputs (never
    the datasource's own files)."""
    from ..evaluations.services import folder as evaluation_folder

    uploads, pk = dataset.uploads_dir, dataset.pk
    outputs = [Path(d) for d in dataset.runs.exclude(run_dir="").values_list("run_dir", flat=True)]
    outputs += [evaluation_folder(e) for e in dataset.evaluations.select_related("owner")]
    forget_thumbnails(dataset)
    dataset.delete()
    shutil.rmtree(uploads, ignore_errors=True)
    users = datadir.users_root().resolve()
    for folder in outputs:
        if users in folder.resolve().parents:  # only what Winnow wrote
            shutil.rmtree(folder, ignore_errors=True)
    datadir.upload_lock(pk).unlink(missing_ok=True)


def forget_thumbnails(dataset: Dataset) -> None:
    shutil.rmtree(datadir.thumbnails_dir(dataset.pk), ignore_errors=True)


@dataclass
class ConnectionReport:
    ok: bool
    image_count: int = 0
    examples: list[str] = field(default_factory=list)
    error: str = ""
    rejected: list[tuple[str, str]] = field(default_factory=list)


def test_connection(dataset: Dataset, *, n_examples: int = 8) -> ConnectionReport:
    """List the datasource: how many images, a few names to show, or why it cannot be read.

    Also refreshes the dataset's image count and its list of prediction tasks.
    """
    try:
        source = engine_source(dataset)
        images = source.list_images()
    except WinnowError as exc:
        return ConnectionReport(ok=False, error=str(exc))
    except Exception:  # never a 500, and never the text: it could describe the server's network
        logger.exception("Testing the datasource of dataset %s failed", dataset.pk)
        return ConnectionReport(ok=False, error="The datasource could not be read; the server's log has the details.")
    dataset.image_count = len(images)
    dataset.save(update_fields=["image_count", "updated_at"])
    report = ConnectionReport(ok=True, image_count=len(images), examples=images[:n_examples], rejected=list(source.rejected))
    try:
        refresh_tasks(dataset, source=source, images=images)
    except WinnowError as exc:
        report.error = f"The predictions in the datasource could not be read: {exc}"
    return report


def refresh_tasks(dataset: Dataset, *, source: Source, images: list[str]) -> list[PredictionTask]:
    """Re-read the tasks (type, categories, coverage) from the dataset's ``.lightly`` files."""
    loaded = load_predictions(source, images, tasks=read_task_names(source), known_images=images)
    return store_tasks(dataset, loaded, n_images=len(images))


def store_tasks(dataset: Dataset, loaded: LoadedPredictions, *, n_images: int) -> list[PredictionTask]:
    """Replace the dataset's task list with the tasks of ``loaded`` (read by the caller)."""
    tasks = [
        PredictionTask(
            dataset=dataset,
            name=name,
            task_type=schema.task_type,
            categories=schema.category_names,
            n_files=loaded.n_files.get(name, 0),
            coverage=loaded.coverage(name),
            n_images=n_images,
        )
        for name, schema in loaded.schemas.items()
    ]
    with transaction.atomic():
        dataset.tasks.all().delete()
        PredictionTask.objects.bulk_create(tasks)
    return tasks
