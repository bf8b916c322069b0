"""The commands `make run` chains: the admin account and the digits demo with its queued run."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from webapp.datasets.models import Dataset
from webapp.runs.models import Run
from webapp.runs.tasks import execute_run


def test_ensure_admin_uses_the_given_password_or_prints_a_generated_one(root, db, monkeypatch, capsys, settings):
    monkeypatch.setenv("WINNOW_ADMIN_PASSWORD", "correct horse battery")
    call_command("ensure_admin")
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("correct horse battery")
    monkeypatch.delenv("WINNOW_ADMIN_PASSWORD")
    call_command("ensure_admin", username="ops")
    out = capsys.readouterr().out
    password = out.split("Created admin account ops, password: ")[1].split()[0]
    assert get_user_model().objects.get(username="ops").check_password(password)
    assert (settings.DATA_DIR / "admin_password.txt").read_text().strip() == password


def test_seed_demo_writes_real_digits_with_predictions_and_queues_a_coral_run(root, db, capsys):
    call_command("ensure_admin")
    call_command("seed_demo")
    dataset = Dataset.objects.get(name="Digits demo")
    assert dataset.image_count == 1797 and dataset.path.startswith(str(root))
    task = dataset.tasks.get()
    assert (task.name, task.task_type, task.coverage) == ("digits-classifier", "classification", 1797)
    run = Run.objects.get()
    assert run.state == Run.QUEUED and run.worker_config["method"] == "coral"
    call_command("seed_demo")  # idempotent: no second dataset, no second run
    assert Dataset.objects.count() == 1 and Run.objects.count() == 1
    assert execute_run(run.pk) == "completed", Run.objects.get(pk=run.pk).error
    run.refresh_from_db()
    assert run.n_selected == 100
    picked = run.samples.filter(selected=True)
    assert all(s.classes.strip("|") in "0123456789" for s in picked)  # digit classes stay text
    # Active learning at work: the selection is far less certain than the dataset as a whole.
    margin = "digits-classifier/uncertainty_margin"
    mean_picked = sum(s.scores[margin] for s in picked) / 100
    mean_all = sum(s.scores[margin] for s in run.samples.all()) / run.samples.count()
    assert mean_picked > 2 * mean_all, (mean_picked, mean_all)


def test_seed_demo_needs_the_admin_account(root, db):
    with pytest.raises(CommandError, match="ensure_admin"):
        call_command("seed_demo")
