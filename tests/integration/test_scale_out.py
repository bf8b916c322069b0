"""Scale-out for real: PostgreSQL as the database, Redis as the broker, a separate worker process.

A run queued by one process is executed by a `manage.py qcluster` worker through Redis, and a
worker killed mid-run leaves its run failed with the reason (not "running" forever). Skips with a
loud reason where PostgreSQL or Redis cannot be reached.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from tests.services import PG, POSTGRES_URL, REDIS, reachable

REPO = Path(__file__).resolve().parents[2]


pytestmark = [
    pytest.mark.skipif(not reachable(PG), reason="PostgreSQL not reachable on 127.0.0.1:5432 — scale-out tests NOT run"),
    pytest.mark.skipif(not reachable(REDIS), reason="Redis not reachable on 127.0.0.1:6379 — scale-out tests NOT run"),
    pytest.mark.timeout(600),
]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """Environment of a PostgreSQL + Redis deployment with a fresh database and Redis db."""
    import psycopg

    name = f"winnow_it_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    data = tmp_path_factory.mktemp("deployment")
    roots = data / "datasources"
    roots.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "webapp.settings",
        "DATABASE_URL": f"{POSTGRES_URL}/{name}",
        "WINNOW_BROKER": "redis://127.0.0.1:6379/13",
        "WINNOW_DATA_DIR": str(data),
        "WINNOW_DATASOURCE_ROOTS": str(roots),
        "WINNOW_STALE_RUN_SECONDS": "5",
    }
    import redis

    redis.from_url(env["WINNOW_BROKER"]).flushdb()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "createcachetable"], cwd=REPO, env=env, check=True)
    yield env, roots
    redis.from_url(env["WINNOW_BROKER"]).flushdb()
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django(env, code: str) -> dict:
    """Run ``code`` in a fresh process of the deployment; it sets ``result`` (JSON)."""
    script = "import django, json\ndjango.setup()\nresult = None\n" + textwrap.dedent(code) + "\nprint('RESULT=' + json.dumps(result))\n"
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT=")][-1]
    return json.loads(line[len("RESULT="):])


SETUP = """
from pathlib import Path
from django.contrib.auth import get_user_model
from selection_engine.synthetic import write_images, write_predictions
from webapp.datasets.models import Dataset
from webapp.datasets.services import save_dataset, test_connection
from webapp.runs.services import schedule_run

user, _ = get_user_model().objects.get_or_create(username="ops")
folder = Path("{folder}")
names = write_images(folder, {n}, size=(32, 32))
write_predictions(folder, names, {{"t": "classification"}}, categories=("a", "b"), image_size=(32, 32))
dataset = save_dataset(Dataset(owner=user, name="{folder}", path=str(folder)))
test_connection(dataset)
run = schedule_run(user, dataset, worker_config={worker}, lightly_config={lightly})
result = run.pk
"""


def start_worker(env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=REPO, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def run_state(env, pk: int) -> dict:
    return django(env, f"""
from webapp.runs.models import Run
from webapp.runs.services import fail_stale_runs
fail_stale_runs()
run = Run.objects.get(pk={pk})
result = {{"state": run.state, "stage": run.stage, "error": run.error, "n_selected": run.n_selected,
          "samples": run.samples.count(), "vendor": __import__("django.db").db.connection.vendor}}
""")


def wait_for(env, pk: int, done, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = run_state(env, pk)
        if done(state) or time.monotonic() > deadline:
            return state
        time.sleep(1)


def test_a_worker_process_runs_a_queued_run_through_redis(deployment):
    env, roots = deployment
    pk = django(env, SETUP.format(folder=roots / "a", n=30, worker={"method": "coral", "stopping_condition": {"n_samples": 5},
                                                                    "active_learning": {"task_name": "t"}},
                                  # default loader workers: the daemonic worker process starts them
                                  lightly={"collate": {"input_size": 32}}))
    assert run_state(env, pk)["state"] == "queued"  # nothing runs it until a worker starts
    worker = start_worker(env)
    try:
        state = wait_for(env, pk, lambda s: s["state"] in ("completed", "failed"), timeout=240)
    finally:
        stop(worker)
    assert state["state"] == "completed", state["error"]
    assert (state["n_selected"], state["samples"], state["vendor"]) == (5, 30, "postgresql")


def test_a_worker_killed_mid_run_leaves_the_run_failed_with_the_reason(deployment):
    env, roots = deployment
    # Long enough to be caught mid-run: training for many epochs.
    pk = django(env, SETUP.format(folder=roots / "b", n=40, worker={"enable_training": True, "stopping_condition": {"n_samples": 5}},
                                  lightly={"collate": {"input_size": 32}, "trainer": {"max_epochs": 500}, "loader": {"num_workers": 0}}))
    worker = start_worker(env)
    try:
        state = wait_for(env, pk, lambda s: s["stage"] == "training", timeout=180)
        assert state["state"] == "running", state
    finally:
        stop(worker, signal.SIGKILL)  # the machine dies: no cleanup code runs
    state = wait_for(env, pk, lambda s: s["state"] != "running", timeout=60)
    assert state["state"] == "failed"
    assert "stopped responding during stage 'training'" in state["error"]
