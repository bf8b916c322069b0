"""A full disk (the data folder's or the database's) is a clear 507 that changes nothing, never
a 500; reads keep working; a run that fills the disk fails saying so."""

from __future__ import annotations

import contextlib
import errno

import pytest
from django.db import OperationalError, connection

from webapp.accounts.models import ApiToken
from webapp.datasets.models import Tag
from webapp.runs import tasks
from webapp.runs.models import Run
from webapp.runs.services import schedule_run

from .conftest import CORAL, SMALL_MODEL


@contextlib.contextmanager
def database_full(message: str = "database or disk is full"):
    """Every write statement fails as SQLite's (or PostgreSQL's) do on a full disk; reads pass."""

    def refuse_writes(execute, sql, params, many, context):
        if sql.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            raise OperationalError(message)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_writes):
        yield


def test_an_api_write_on_a_full_disk_is_a_507_in_the_apis_shape_and_changes_nothing(alice_api, completed_run):
    dataset = completed_run.dataset
    before = Tag.objects.filter(dataset=dataset).count()
    with database_full():
        response = alice_api.post(f"/api/v1/datasets/{dataset.pk}/tags/", {"name": "picked", "filenames": []}, format="json")
    assert response.status_code == 507
    assert "storage is full" in response.json()["detail"]
    assert Tag.objects.filter(dataset=dataset).count() == before


def test_a_page_write_on_a_full_disk_says_so(alice_client, completed_run):
    with database_full("could not extend file \"base/16384/2619\": No space left on device"):
        response = alice_client.post(f"/runs/{completed_run.pk}/tags/", {"name": "picked", "tab": "all"})
    assert response.status_code == 507
    assert b"storage is full" in response.content
    assert not Tag.objects.filter(name="picked").exists()


def test_reads_keep_working_while_the_token_note_cannot_be_written(alice_api, completed_run):
    ApiToken.objects.update(last_used_at=None)  # the next request would note its use: a write
    with database_full():
        response = alice_api.get(f"/api/v1/runs/{completed_run.pk}/")
    assert response.status_code == 200
    assert response.json()["state"] == "completed"


def test_other_database_errors_are_still_errors(alice_api, completed_run):
    with database_full("deadlock detected"), pytest.raises(OperationalError):
        alice_api.post(f"/api/v1/datasets/{completed_run.dataset.pk}/tags/", {"name": "x", "filenames": []}, format="json")


def test_a_run_that_fills_the_disk_fails_saying_so(dataset, alice, monkeypatch):
    run = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)

    def fill_up(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tasks.pipeline, "run", fill_up)
    assert tasks.execute_run(run.pk) == "failed"
    run.refresh_from_db()
    assert run.state == Run.FAILED
    assert "storage filled up" in run.error and "No space left on device" in run.error
    assert not run.error.startswith("Internal error")


def test_pages_that_sweep_stale_runs_still_answer_when_the_sweep_cannot_write(alice_client, alice_api, dataset, alice):
    """On a full disk the worker's heartbeats stop too, so its run looks stale to every page that
    sweeps while it reads; the sweep waits for space, the reads answer."""
    from datetime import timedelta

    from django.utils import timezone

    run = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)
    old = timezone.now() - timedelta(hours=1)
    Run.objects.filter(pk=run.pk).update(state=Run.RUNNING, heartbeat_at=old, started_at=old)
    with database_full():
        assert alice_api.get(f"/api/v1/runs/{run.pk}/").json()["state"] == "running"
        assert alice_client.get(f"/runs/{run.pk}/status.json").json()["state"] == "running"
        assert alice_client.get("/runs/").status_code == 200
    assert alice_client.get(f"/runs/{run.pk}/status.json").json()["state"] == "failed"  # once space is back


def test_an_upload_on_a_full_data_disk_is_a_507_and_keeps_the_stored_predictions(alice_api, dataset, monkeypatch):
    """The upload copies the stored files to a staging folder first; on a full disk that copy fails
    with shutil's own Error, whose errno is lost in a list of messages."""
    import shutil

    from webapp.datasets import uploads

    stored = sorted(p.relative_to(dataset.uploads_dir) for p in dataset.uploads_dir.rglob("*"))

    def copy_fails(src, dst, **kwargs):
        raise shutil.Error([(str(src), str(dst), f"[Errno 28] No space left on device: '{src}' -> '{dst}'")])

    monkeypatch.setattr(uploads.shutil, "copytree", copy_fails)
    response = alice_api.post(f"/api/v1/datasets/{dataset.pk}/uploads/",
                              {"files": {".lightly/metadata/schema.json": []}}, format="json")
    assert response.status_code == 507, response.content
    assert "storage is full" in response.json()["detail"]
    assert sorted(p.relative_to(dataset.uploads_dir) for p in dataset.uploads_dir.rglob("*")) == stored
    assert not list(dataset.uploads_dir.parent.glob("*.staging-*"))
