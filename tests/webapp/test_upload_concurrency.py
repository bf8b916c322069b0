"""Two uploads to the same dataset at the same time do not interleave: the second waits for the
first, so each adds its task to what the other stored and nothing is lost, on disk or in the
dataset's task list."""

import threading
import time

import pytest
from django.db import connection

from selection_engine.synthetic import write_predictions
from webapp.datasets import services
from webapp.datasets.models import Dataset

from .conftest import IMAGE_SIZE, TASK, upload, zip_bytes


def task_zip(tmp_path, names, task) -> bytes:
    """A zip of one task folder (``<task>/schema.json``, ``<task>/<image>.json``), no tasks.json."""
    staging = tmp_path / f"staging-{task}"
    write_predictions(staging, names, {task: "classification"}, categories=("cat", "dog"), image_size=IMAGE_SIZE)
    folder = staging / ".lightly" / "predictions" / task
    return zip_bytes({f"{task}/{p.relative_to(folder).as_posix()}": p.read_bytes() for p in folder.rglob("*") if p.is_file()})


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_uploads_both_land(tmp_path, dataset, alice, images, monkeypatch):
    _, names = images
    archives = {task: task_zip(tmp_path, names, task) for task in ("first", "second")}
    # Validation reads the datasource: make that slow, so both uploads are in flight together.
    real_engine_source = services.engine_source

    def slow_engine_source(*args, **kwargs):
        time.sleep(0.8)
        return real_engine_source(*args, **kwargs)

    monkeypatch.setattr(services, "engine_source", slow_engine_source)
    records, errors = {}, []

    def send(task):
        try:
            records[task] = upload(Dataset.objects.get(pk=dataset.pk), alice, archives[task])
        except Exception as exc:  # reported below with the task
            errors.append((task, repr(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(task,)) for task in archives]
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert all(records[task].accepted for task in archives), {t: r.report for t, r in records.items()}

    dataset.refresh_from_db()
    assert set(dataset.tasks.values_list("name", flat=True)) == {TASK, "first", "second"}
    predictions = dataset.uploads_dir / ".lightly" / "predictions"
    assert {p.name for p in predictions.iterdir() if p.is_dir()} == {TASK, "first", "second"}
    for task in ("first", "second"):
        assert len(list((predictions / task).rglob("*.json"))) == len(names) + 1  # schema + one per image
    assert dataset.uploads.filter(accepted=True).count() == 3  # the fixture's and these two
    leftovers = [p.name for p in dataset.uploads_dir.parent.iterdir() if ".staging-" in p.name or ".old-" in p.name]
    assert leftovers == []
