"""An evaluation's life besides success: canceled before it starts, failed with a message the
user understands, failed when its worker vanished (and swept on a schedule), deleted with its
dataset."""

import shutil
from datetime import timedelta

from django.utils import timezone

from webapp.evaluations.models import Evaluation
from webapp.evaluations.services import fail_stale_evaluations, folder
from webapp.evaluations.tasks import execute_evaluation

from .evaluation_world import completed_evaluation, digit_labels, digits, small_evaluation  # noqa: F401


def test_a_queued_evaluation_is_canceled_and_never_runs(alice_client, alice, digits):
    evaluation = small_evaluation(alice, digits)
    response = alice_client.post(f"/evaluations/{evaluation.pk}/cancel/", follow=True)
    assert "Canceled." in response.content.decode()
    assert "Canceled by the user before it started." in response.content.decode()
    assert execute_evaluation(evaluation.pk).endswith("nothing to do")
    evaluation.refresh_from_db()
    assert evaluation.state == Evaluation.CANCELED and evaluation.summary is None


def test_a_failure_shows_its_reason(alice_client, alice, digits, root):
    evaluation = small_evaluation(alice, digits)
    shutil.rmtree(root / "digits")  # the images are gone by the time the worker starts
    assert execute_evaluation(evaluation.pk) == "failed"
    page = alice_client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert "failed" in page and "does not exist or is not a folder" in page
    status = alice_client.get(f"/evaluations/{evaluation.pk}/status.json").json()
    assert status["state"] == "failed" and status["finished"] and "does not exist or is not a folder" in status["error"]


def test_an_evaluation_whose_worker_vanished_is_failed(alice_client, alice, digits, settings):
    evaluation = small_evaluation(alice, digits)
    long_ago = timezone.now() - timedelta(seconds=settings.STALE_RUN_SECONDS + 5)
    Evaluation.objects.filter(pk=evaluation.pk).update(state=Evaluation.RUNNING, heartbeat_at=long_ago, stage="evaluating",
                                                       worker_host="gone-host")
    status = alice_client.get(f"/evaluations/{evaluation.pk}/status.json").json()
    assert status["state"] == "failed"
    assert "The worker on gone-host stopped responding during stage 'evaluating'" in status["error"]
    assert "Start a new evaluation to try again." in status["error"]
    assert fail_stale_evaluations() == 0


def test_the_sweep_is_scheduled(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="webapp.evaluations.services.fail_stale_evaluations")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)


def test_deleting_the_dataset_deletes_its_evaluations_and_their_files(alice_client, completed_evaluation):
    where = folder(completed_evaluation)
    assert (where / "results" / "evaluation.json").is_file()
    alice_client.post(f"/datasets/{completed_evaluation.dataset_id}/delete/")
    assert not Evaluation.objects.exists()
    assert not where.exists()
