"""A run from queue to result: the django-q2 task, progress, failure, cancel, stale workers, re-run."""

import csv
import io
import shutil
from datetime import timedelta

from django.utils import timezone

from webapp.runs.models import Run
from webapp.runs.services import fail_stale_runs, schedule_run
from webapp.runs.tasks import execute_run

from .conftest import CORAL, SMALL_MODEL, TASK


def test_a_completed_run_has_its_selection_scores_and_log(completed_run, images):
    _, names = images
    run = completed_run
    assert (run.state, run.n_selected, run.stage) == (Run.COMPLETED, 6, "done")
    assert run.started_at <= run.finished_at
    assert "Done!" in run.log and "Sampled 6 images" in run.log
    selected = list(run.samples.filter(selected=True).order_by("rank"))
    assert [s.rank for s in selected] == [1, 2, 3, 4, 5, 6]
    assert run.samples.count() == len(names)
    assert all(s.score is not None and 0 <= s.score <= 1 for s in selected)
    assert all(s.scores[f"{TASK}/uncertainty_margin"] == s.score for s in selected)
    removed = run.samples.filter(selected=False).first()
    assert removed.reason and removed.rank is None


def test_the_run_page_status_and_artifacts(alice_client, completed_run):
    run = completed_run
    page = alice_client.get(f"/runs/{run.pk}/").content.decode()
    assert "completed" in page and "<strong>6</strong> of 24 candidates selected." in page and "report.pdf" in page
    status = alice_client.get(f"/runs/{run.pk}/status.json").json()
    assert status["state"] == "completed" and status["finished"] and status["fraction"] == 1.0
    assert status["n_selected"] == 6 and "Done!" in status["log_tail"]
    response = alice_client.get(f"/runs/{run.pk}/artifacts/data/selected_samples.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["filenames"] for r in rows} == set(run.samples.filter(selected=True).values_list("filename", flat=True))
    pdf = alice_client.get(f"/runs/{run.pk}/artifacts/report.pdf")
    assert pdf["Content-Type"] == "application/pdf" and b"".join(pdf.streaming_content).startswith(b"%PDF")
    for bad in ("../../../etc/passwd", "nope.txt", "%2e%2e/%2e%2e/secret_key"):
        assert alice_client.get(f"/runs/{run.pk}/artifacts/{bad}").status_code == 404, bad


def test_the_gallery_shows_the_selection_sorted_by_score(alice_client, completed_run):
    page = alice_client.get(f"/runs/{completed_run.pk}/gallery/").content.decode()
    expected = list(completed_run.samples.filter(selected=True).order_by("-score", "rank").values_list("filename", "score"))
    assert page.count('<figure class="sample') == 6
    assert page.count('<figure class="sample picked"') == 6  # the selected tab: every card marked selected
    positions = [page.index(f'data-filename="{name}"') for name, _ in expected]
    assert positions == sorted(positions)
    assert f"{expected[0][1]:.3f}" in page


def test_a_run_whose_images_vanished_fails_with_the_reason(dataset, alice, images):
    folder, _ = images
    run = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)
    shutil.rmtree(folder / "cats")
    shutil.rmtree(folder / "dogs")
    assert execute_run(run.pk) == "failed"
    run.refresh_from_db()
    assert run.state == Run.FAILED and run.finished_at is not None
    assert run.error == f"{folder}: no images found (supported: jpg, jpeg, png, bmp, gif, tif, tiff, webp)"
    assert (run.directory / "FAILED.txt").exists()


def test_a_queued_run_is_canceled_at_once_and_never_starts(alice_client, dataset, alice):
    run = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)
    alice_client.post(f"/runs/{run.pk}/cancel/")
    run.refresh_from_db()
    assert run.state == Run.CANCELED
    assert execute_run(run.pk).startswith(f"run {run.pk} was not queued")
    assert Run.objects.get(pk=run.pk).state == Run.CANCELED


def test_a_running_run_stops_at_its_next_progress_step_when_canceled(dataset, alice):
    run = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)
    Run.objects.filter(pk=run.pk).update(cancel_requested=True)  # as if the user clicked during startup
    assert execute_run(run.pk) == "canceled"
    run.refresh_from_db()
    assert run.state == Run.CANCELED and "Canceled by the user" in run.error
    assert run.samples.count() == 0
    assert "canceled by the user" in (run.directory / "FAILED.txt").read_text()


def test_a_run_whose_worker_died_is_failed_with_the_reason(alice_client, dataset, alice):
    run = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)
    old = timezone.now() - timedelta(hours=1)
    Run.objects.filter(pk=run.pk).update(state=Run.RUNNING, stage="embeddings", heartbeat_at=old, started_at=old, worker_host="gpu-7")
    status = alice_client.get(f"/runs/{run.pk}/status.json").json()
    assert status["state"] == "failed"
    assert "worker on gpu-7 stopped responding during stage 'embeddings'" in status["error"]
    fresh = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)
    Run.objects.filter(pk=fresh.pk).update(state=Run.RUNNING, heartbeat_at=timezone.now())
    assert fail_stale_runs() == 0  # a worker that is alive keeps its run


def test_rerun_queues_a_new_run_with_the_same_configs(alice_client, completed_run):
    response = alice_client.post(f"/runs/{completed_run.pk}/rerun/")
    new = Run.objects.exclude(pk=completed_run.pk).get()
    assert response["Location"] == f"/runs/{new.pk}/"
    assert (new.state, new.rerun_of_id) == (Run.QUEUED, completed_run.pk)
    assert (new.worker_config, new.lightly_config) == (completed_run.worker_config, completed_run.lightly_config)


def test_deleting_a_dataset_removes_its_runs_and_outputs_but_not_its_images(alice_client, completed_run, images):
    folder, names = images
    run_dir = completed_run.directory
    assert run_dir.is_dir()
    alice_client.post(f"/datasets/{completed_run.dataset.pk}/delete/")
    assert not Run.objects.exists() and not run_dir.exists()
    assert all((folder / name).exists() for name in names)


def test_a_schedule_sweeps_stale_runs_every_minute(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="webapp.runs.services.fail_stale_runs")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)


def test_a_live_run_in_a_long_silent_step_is_not_declared_dead(transactional_db, settings, dataset, alice):
    """The heartbeat follows WINNOW_STALE_RUN_SECONDS: a step without progress calls (the
    report, a big model call) longer than the stale period keeps its run."""
    import time

    from webapp.runs.progress import RunProgress

    settings.STALE_RUN_SECONDS = 2
    run = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)
    Run.objects.filter(pk=run.pk).update(state=Run.RUNNING, heartbeat_at=timezone.now(), started_at=timezone.now())
    with RunProgress(run):
        time.sleep(3)  # longer than the stale period, with no progress call
        assert fail_stale_runs() == 0
    assert Run.objects.get(pk=run.pk).state == Run.RUNNING
