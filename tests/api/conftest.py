"""The API tests' world: the web app's fixtures (users, a dataset with predictions, a completed
run) plus API clients holding each user's token, and one real server for the end-to-end tests."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.webapp.conftest import (  # noqa: F401  (fixtures)
    CORAL,
    SMALL_MODEL,
    TASK,
    alice,
    bob,
    completed_run,
    dataset,
    images,
    predictions_zip,
    root,
    upload,
    zip_bytes,
    zip_folder,
)
from webapp.accounts.services import create_token


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_token(user, 'tests')[1]}")
    return client


@pytest.fixture
def alice_api(alice) -> APIClient:
    return token_client(alice)


@pytest.fixture
def bob_api(bob) -> APIClient:
    return token_client(bob)


# -- one real server for the end-to-end tests --------------------------------------------------

import contextlib  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

from selection_engine.synthetic import write_images, write_predictions  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LIVE_IMAGES = 30
LIVE_IMAGE_SIZE = (32, 32)
SERVER_START_TIMEOUT = 120


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    images: Path  # a local datasource under the allowed root
    predictions: Path  # <images>/.lightly/predictions of task "t"
    tokens: dict[str, str]  # username → API token
    log: Path
    env: dict


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _worker_alive(url: str) -> bool:
    import json

    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
            return json.loads(response.read()).get("worker", {}).get("status") == "ok"
    except Exception:
        return False


@pytest.fixture(scope="session")
def winnow_server(tmp_path_factory) -> LiveServer:
    """``manage.py serve`` (gunicorn + a django-q2 worker) on a fresh data folder, users alice and
    bob with tokens made by ``create_api_token``; the whole process group is stopped at the end."""
    data_dir = tmp_path_factory.mktemp("winnow-api")
    roots = data_dir / "roots"
    images = roots / "shapes"
    names = write_images(images, LIVE_IMAGES, size=LIVE_IMAGE_SIZE)
    write_predictions(images, names, {"t": "classification"}, categories=("a", "b"), image_size=LIVE_IMAGE_SIZE)
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("WINNOW_") and k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "webapp.settings", "WINNOW_DATA_DIR": str(data_dir), "WINNOW_DATASOURCE_ROOTS": str(roots),
        "SECRET_KEY": "api-tests-only-" + "x" * 40, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1",
    })
    manage(env, "migrate", "--noinput")
    manage(env, "createcachetable")
    manage(env, "shell", "-c", (
        "from django.contrib.auth import get_user_model\n"
        "for name in ('alice', 'bob'):\n"
        "    get_user_model().objects.create_user(name, password=name + '-pass-1')\n"
    ))
    tokens = {name: manage(env, "create_api_token", name).strip() for name in ("alice", "bob")}
    log = data_dir / "server.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port)], cwd=REPO, env=env,
                                   stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not _worker_alive(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not come up with a worker:\n{log.read_text()[-5000:]}")
            time.sleep(0.5)
        yield LiveServer(url=url, data_dir=data_dir, images=images, predictions=images / ".lightly" / "predictions",
                         tokens=tokens, log=log, env=env)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (gunicorn, its workers, qcluster), then SIGKILL to
    whatever of the group is left once the leader has gone (or after 10 s)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
