"""Canceling a run that is already running, as a user does it (the run page's button, the API):
the answer says it stops at its next progress step, the worker notices there, and the run ends
canceled with the reason, no results and no tag."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from selection_engine import pipeline
from webapp.accounts.services import create_token
from webapp.datasets.models import Tag
from webapp.runs.models import Run
from webapp.runs.services import schedule_run
from webapp.runs.tasks import execute_run

from .conftest import CORAL, SMALL_MODEL

ASKED = "Cancel requested: the run stops at its next progress step."


def cancel_on_the_page(user, run) -> str:
    client = Client()
    client.force_login(user)
    response = client.post(f"/runs/{run.pk}/cancel/", follow=True)
    assert response.status_code == 200
    return response.content.decode()


def cancel_with_the_api(user, run) -> str:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {create_token(user, 'tests')[1]}")
    response = api.post(f"/api/v1/runs/{run.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["run"]["state"] == "running"  # still running until the worker notices
    return response.json()["detail"]


@pytest.mark.parametrize("cancel", [cancel_on_the_page, cancel_with_the_api])
def test_a_running_run_canceled_by_its_owner_ends_canceled(alice, dataset, monkeypatch, cancel):
    run = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)
    real_run = pipeline.run
    answers = []

    def run_with_a_user_canceling(config, on_progress=None, **kwargs):
        """The engine, with the user clicking cancel at its first progress step."""
        def progress(stage, done, total, message):
            if not answers:
                assert Run.objects.get(pk=run.pk).state == Run.RUNNING
                answers.append(cancel(alice, run))
            on_progress(stage, done, total, message)

        return real_run(config, on_progress=progress, **kwargs)

    monkeypatch.setattr(pipeline, "run", run_with_a_user_canceling)
    assert execute_run(run.pk) == "canceled"
    assert len(answers) == 1 and ASKED in answers[0]
    run.refresh_from_db()
    assert run.state == Run.CANCELED and run.error == "Canceled by the user while running."
    assert run.finished_at is not None
    assert run.samples.count() == 0 and not Tag.objects.filter(run=run).exists()
    assert "canceled by the user" in (run.directory / "FAILED.txt").read_text()
    assert not (run.directory / "report.json").exists()
