"""A Ray-backed run on the web path: the operator's WINNOW_RAY_ADDRESS, the run sent to django-q2
when it is saved, the image pass on a Ray the worker starts, the gallery."""

from __future__ import annotations

import json

from tests.distributed.conftest import ray_or_skip
from webapp.runs import progress
from webapp.runs.models import Run
from webapp.runs.services import schedule_run

from .conftest import CORAL, SMALL_MODEL


def test_a_ray_backed_run_goes_from_the_queue_to_the_gallery(
    settings, dataset, alice, alice_client, django_capture_on_commit_callbacks
):
    ray = ray_or_skip()
    if ray.is_initialized():  # a Ray left by another test module: this run starts its own
        ray.shutdown()
    settings.RAY_ADDRESS = "local"
    # A user's own ray_address is replaced by the operator's: the server never connects where a user says.
    worker_config = {**CORAL, "ray_address": "10.9.8.7:6379"}
    with django_capture_on_commit_callbacks(execute=True):  # the commit sends the task to django-q2 (sync in tests)
        run = schedule_run(alice, dataset, worker_config=worker_config, lightly_config=SMALL_MODEL)
    run.refresh_from_db()
    assert run.state == Run.COMPLETED, run.error
    assert "Image pass on the Ray cluster at local" in run.log and "Done!" in run.log
    assert json.loads((run.directory / "config/config.json").read_text())["worker_config"]["ray_address"] == "local"
    assert not ray.is_initialized(), "the run shuts down the Ray it started"
    assert progress.planned_stages(run)[:2] == ["load", "image_pass"]
    status = alice_client.get(f"/runs/{run.pk}/status.json").json()
    assert status["state"] == "completed" and status["fraction"] == 1.0
    page = alice_client.get(f"/runs/{run.pk}/gallery/").content.decode()
    selected = list(run.samples.filter(selected=True).values_list("filename", flat=True))
    assert len(selected) == 6 and page.count('<figure class="sample picked"') == 6
    assert all(f'data-filename="{name}"' in page for name in selected)
    assert run.samples.count() == 24
