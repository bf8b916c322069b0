"""Data for the gallery browser tests, written into the test server's own database.

Run by ``conftest.seed`` as a subprocess with the server's environment (its WINNOW_DATA_DIR and
database), never imported by the test process (which runs pytest-django's settings):

    python tests/browser/gallery_seed.py <command> '<json arguments>'

Prints one JSON document: what the tests need to know (ids, primary keys, counts).
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from webapp.datasets.models import Dataset, PredictionTask  # noqa: E402
from webapp.datasets.services import save_dataset, test_connection  # noqa: E402
from webapp.datasets.uploads import receive_upload  # noqa: E402
from webapp.runs.models import Run, RunSample  # noqa: E402
from webapp.runs.results import metadata_facts  # noqa: E402
from webapp.runs.services import schedule_run  # noqa: E402


def _user(name: str):
    return get_user_model().objects.get(username=name)


def staff(args: dict) -> dict:
    """A staff user (the dashboard is for staff only)."""
    user = get_user_model().objects.create_user(args["username"], password=args["password"], is_staff=True)
    return {"user": user.pk}


def detection_run(args: dict) -> dict:
    """A dataset on ``folder``, the predictions zip uploaded, and a real run queued for the worker."""
    user = _user(args["owner"])
    dataset = save_dataset(Dataset(owner=user, name=args["name"], source_type=Dataset.LOCAL, path=args["folder"]))
    test_connection(dataset)
    upload = receive_upload(dataset, user, SimpleUploadedFile("predictions.zip", Path(args["zip"]).read_bytes()))
    if not upload.accepted:
        raise SystemExit(f"predictions rejected: {upload.report[:5]}")
    run = schedule_run(user, dataset, worker_config=args["worker_config"], lightly_config=args["lightly_config"])
    return {"dataset": dataset.pk, "run": run.pk}


def large_run(args: dict) -> dict:
    """A completed run of many samples, its rows bulk-created (as benchmarks/gallery.py does)."""
    user = _user(args["owner"])
    dataset = save_dataset(Dataset(owner=user, name=args["name"], source_type=Dataset.LOCAL, path=args["folder"]))
    test_connection(dataset)  # counts the images
    task = args["task"]
    PredictionTask.objects.create(dataset=dataset, name=task, task_type="classification", categories=args["categories"],
                                  n_files=0, coverage=0, n_images=dataset.image_count or 0)
    samples = json.loads(Path(args["samples"]).read_text())
    now = timezone.now()
    run = Run.objects.create(
        owner=user, dataset=dataset, state=Run.COMPLETED, primary_score=args["primary_score"], stage="done",
        n_selected=sum(s["selected"] for s in samples), facts=metadata_facts([RunSample(metadata=s["metadata"]) for s in samples]),
        worker_config={"method": "coral", "stopping_condition": {"n_samples": sum(s["selected"] for s in samples)}},
        started_at=now - timedelta(minutes=3), finished_at=now,
    )
    run_dir = Path(args["run_dir"]) / f"run-{run.pk}"
    run_dir.mkdir(parents=True, exist_ok=True)
    Run.objects.filter(pk=run.pk).update(run_dir=str(run_dir))
    RunSample.objects.bulk_create([
        RunSample(run=run, filename=s["filename"], selected=s["selected"], rank=s["rank"], score=s["score"],
                  scores=s["scores"], classes=s["classes"], metadata=s["metadata"], reason=s["reason"],
                  row=i, x=s["x"], y=s["y"])
        for i, s in enumerate(samples)
    ], batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    pks = dict(RunSample.objects.filter(run=run).values_list("filename", "pk"))
    return {"dataset": dataset.pk, "run": run.pk, "pks": pks}


def finished_runs(args: dict) -> dict:
    """Runs in other states on ``dataset`` for the dashboard: each {state, error, days_ago}."""
    dataset = Dataset.objects.get(pk=args["dataset"])
    made = []
    for spec in args["runs"]:
        when = timezone.now() - timedelta(days=spec["days_ago"])
        run = Run.objects.create(owner=dataset.owner, dataset=dataset, state=spec["state"], error=spec.get("error", ""),
                                 started_at=when, finished_at=when)
        Run.objects.filter(pk=run.pk).update(created_at=when)  # auto_now_add ignores a given value
        made.append(run.pk)
    return {"runs": made}


def another_run(args: dict) -> dict:
    """A second real run queued on ``dataset`` (for comparing two runs of one dataset)."""
    dataset = Dataset.objects.get(pk=args["dataset"])
    run = schedule_run(dataset.owner, dataset, worker_config=args["worker_config"], lightly_config=args["lightly_config"])
    return {"run": run.pk}


def run_counts(args: dict) -> dict:
    """Runs by state, and runs created per day over the last 30 days (what the dashboard counts)."""
    by_state = {state: Run.objects.filter(state=state).count() for state, _ in Run.STATES}
    since = timezone.now() - timedelta(days=30)
    days: dict[str, int] = {}
    for created in Run.objects.filter(created_at__gte=since).values_list("created_at", flat=True):
        day = timezone.localtime(created).date().isoformat()
        days[day] = days.get(day, 0) + 1
    return {"states": by_state, "days": days}


def samples_of(args: dict) -> dict:
    """A run's samples: filename -> {pk, selected, rank, x, y}."""
    rows = RunSample.objects.filter(run_id=args["run"]).values_list("filename", "pk", "selected", "rank", "x", "y")
    return {"samples": {f: {"pk": pk, "selected": s, "rank": r, "x": x, "y": y} for f, pk, s, r, x, y in rows}}


COMMANDS = {f.__name__: f for f in (staff, detection_run, large_run, finished_runs, another_run, run_counts, samples_of)}

if __name__ == "__main__":
    command, arguments = sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    print(json.dumps(COMMANDS[command](arguments)))
