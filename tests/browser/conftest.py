"""Browser tests: a real Winnow server (gunicorn + django-q2 worker) driven by headless Chromium.

One server for the whole session: a fresh WINNOW_DATA_DIR with one allowed datasource root,
two users, ``manage.py serve`` on a free port. Every page a test visits is saved as a full-page
screenshot in ``test-artifacts/screenshots/<test>-<nn>-<step>.png``; the server's log is copied
to ``test-artifacts/browser-server.log`` at the end.

Chromium comes from Debian (/usr/bin/chromium); without it the tests are skipped, loudly.

The gallery tests (issue 7, test_gallery_*.py) share two more session fixtures, ``det_run`` (a real
object-detection run) and ``large_run`` (a completed run of LARGE_N samples from a known table),
made on the server's database by ``gallery_seed.py``; see the section at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from selection_engine.synthetic import write_images, write_predictions

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

#: The generated images: small, so that one engine run takes seconds.
IMAGE_SIZE = (32, 32)
N_IMAGES = 40
TASK = "animals"
CATEGORIES = ("cat", "dog", "bird")

USERS = {"alice": "alice-browser-pass-1", "bob": "bob-browser-pass-1", "carol": "carol-browser-pass-1"}
#: The gallery tests' data belongs to carol: alice's lists stay as the issue-6 tests expect them.
GALLERY_USER = "carol"

SERVER_START_TIMEOUT = 120  # seconds until /healthz reports the database and a worker


@dataclass
class Server:
    url: str
    data_dir: Path
    root: Path  # the one allowed datasource root
    images: Path  # a folder of generated images under ``root``
    image_names: list[str]
    log: Path
    env: dict = field(default_factory=dict)  # the server's environment (for scripts on its database)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict, *args: str, timeout: int = 300) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _health(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
            return json.loads(response.read()) if response.status == 200 else None
    except Exception:
        return None


_NOT_RUN: list[str] = []


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        _NOT_RUN.append(f"chromium not installed at {CHROMIUM}: apt-get install chromium")
        pytest.skip(
            f"chromium not installed at {CHROMIUM}: apt-get install chromium — browser tests NOT run"
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def server(chromium_path, tmp_path_factory) -> Server:
    """``manage.py serve`` on a fresh data folder; stopped (the whole process group) at the end."""
    data_dir = tmp_path_factory.mktemp("winnow-browser")
    root = data_dir / "datasources"
    images = root / "pets"
    names = write_images(images, N_IMAGES, size=IMAGE_SIZE, folders=("cats", "dogs"))
    port = _free_port()
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith("WINNOW_") and key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG")
    }
    env.update({
        "DJANGO_SETTINGS_MODULE": "webapp.settings",
        "WINNOW_DATA_DIR": str(data_dir),
        "WINNOW_DATASOURCE_ROOTS": str(root),
        "WINNOW_PORT": str(port),
        "SECRET_KEY": "browser-tests-only-" + "x" * 40,
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "2",
    })
    _manage(env, "migrate", "--noinput")
    _manage(env, "createcachetable")
    users = ", ".join(f"({name!r}, {password!r})" for name, password in USERS.items())
    _manage(env, "shell", "-c", (
        "from django.contrib.auth import get_user_model\n"
        f"for name, password in [{users}]:\n"
        "    get_user_model().objects.create_user(name, password=password)\n"
    ))

    log = data_dir / "server.log"
    with open(log, "wb") as log_handle:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=REPO, env=env, stdout=log_handle, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        health = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"manage.py serve exited with {process.returncode}:\n{log.read_text()[-5000:]}")
            health = _health(url)
            if health and health.get("worker", {}).get("status") == "ok":
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(
                f"the server did not report a live worker within {SERVER_START_TIMEOUT} s; last /healthz: {health}\n"
                f"{log.read_text()[-5000:]}"
            )
        yield Server(url=url, data_dir=data_dir, root=root, images=images, image_names=names, log=log, env=env)
    finally:
        _stop(process)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copyfile(log, ARTIFACTS / "browser-server.log")


def _group_alive(pgid: int) -> bool:
    """Does a live (not zombie) process remain in the process group ``pgid``?"""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _stop(process: subprocess.Popen) -> None:
    """Stop ``manage.py serve`` and everything it started; nothing of its process group survives.

    SIGTERM goes to ``serve`` alone first: it stops gunicorn and qcluster itself, in about a
    second. (SIGTERM to the whole group at once makes django-q2's cluster hang until ``serve``
    kills it 20 s later.) Whatever is left of the group then gets SIGTERM, then SIGKILL. Orphans
    that died are zombies until init reaps them; they do not count as alive.
    """
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None and not _group_alive(process.pid):
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (process.poll() is None or _group_alive(process.pid)):
            time.sleep(0.2)
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser(chromium_path, server):
    """Chromium, closed before the server stops (its keep-alive connections would delay that)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium_path),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def pytest_terminal_summary(terminalreporter):
    if _NOT_RUN:
        terminalreporter.write_sep("!", f"BROWSER TESTS NOT RUN — {_NOT_RUN[0]}", red=True, bold=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(browser, server, request):
    """A fresh browser context (no cookies) per test; a screenshot if the test fails."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        with contextlib.suppress(Exception):
            page.screenshot(path=str(SCREENSHOTS / f"{_safe(request.node.name)}-zz-failure.png"), full_page=True)
    context.close()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


@pytest.fixture
def shot(request):
    """``shot(page, "step")``: a full-page screenshot, numbered in the order a test takes them."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = _safe(request.node.name)
    for old in SCREENSHOTS.glob(f"{test}-*.png"):
        old.unlink()
    counter = iter(range(1, 100))

    def take(page, step: str) -> Path:
        path = SCREENSHOTS / f"{test}-{next(counter):02d}-{_safe(step)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# -- helpers the tests share ------------------------------------------------------------------

def login(page, username: str, password: str | None = None) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", USERS[username] if password is None else password)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_load_state()


def create_dataset(page, name: str, path: Path | str) -> int:
    """Create a local dataset through the form; returns its id (from the page it lands on)."""
    page.goto("/datasets/new/")
    page.fill("#id_name", name)
    page.select_option("#id_source_type", "local")
    page.fill("#id_path", str(path))
    page.click("button:has-text('Save and test the connection')")
    page.wait_for_url(re.compile(r"/datasets/\d+/$"))
    return int(re.search(r"/datasets/(\d+)/$", page.url).group(1))


def upload_zip(page, filename: str, data: bytes) -> None:
    page.set_input_files("input[name=archive]", files=[{"name": filename, "mimeType": "application/zip", "buffer": data}])
    page.click("button:has-text('Upload and validate')")
    page.wait_for_load_state()


def zip_folder(folder: Path, prefix: str = "") -> bytes:
    """A zip of every file under ``folder`` (dotted folders included), entries under ``prefix``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return buffer.getvalue()


def predictions_folder(target: Path, names: list[str], tasks: dict[str, str] | None = None, seed: int = 0) -> Path:
    """``target/.lightly/predictions`` for ``names`` (classification task ``animals`` by default)."""
    write_predictions(target, names, tasks or {TASK: "classification"}, categories=CATEGORIES, image_size=IMAGE_SIZE, seed=seed)
    return target / ".lightly"


# -- data for the gallery tests (issue 7) ------------------------------------------------------
#
# Two runs of carol's (GALLERY_USER), made once per session on the server's own database (by
# tests/browser/gallery_seed.py in a subprocess, with the server's environment):
#
# * "Detections": 16 images with object-detection predictions, uploaded as a zip, and a real coral
#   run executed by the server's worker: boxes to draw, an embedding map, a run-<id>-selected tag.
# * "Large": LARGE_N tiny images and a completed run whose samples are bulk-created from a known
#   table (scores, classes, metadata): what the gallery shows is checked against that table.
#
# The detection run is queued first; the large run is built while the worker computes it.

SEED_SCRIPT = Path(__file__).with_name("gallery_seed.py")

DET_TASK = "det"
DET_CATEGORIES = ("car", "person")
DET_IMAGE_SIZE = (40, 60)  # (h, w)
DET_N_IMAGES = 16
DET_N_SELECTED = 4

LARGE_N = 3000
LARGE_SELECTED = 300
LARGE_UNSCORED = 15  # removed samples without the primary score (score = -1: sort last, match no range)
LARGE_TASK = "animals"
LARGE_CLASSES = ("cat", "dog", "bird")
LARGE_PRIMARY = f"{LARGE_TASK}/uncertainty_margin"
LARGE_WEATHER = ("sunny", "rain", "fog")
LARGE_METADATA_KEYS = ["brightness", "lightly.height", "lightly.width", "weather"]

STAFF = ("staffer", "staffer-browser-pass-1")


def seed(server: Server, command: str, **args) -> dict:
    """Run ``gallery_seed.py <command>`` on the server's database; its JSON answer."""
    result = subprocess.run(
        [sys.executable, str(SEED_SCRIPT), command, json.dumps(args, default=str)],
        cwd=REPO, env=server.env, capture_output=True, text=True, timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"gallery_seed.py {command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass
class DetRun:
    dataset: int
    run: int
    names: list[str]
    predictions: Path  # the .lightly/predictions folder that was uploaded
    samples: dict  # filename -> {pk, selected, rank, x, y}

    def boxes(self, name: str) -> list[dict]:
        """The predictions of ``name`` in its prediction file (what the sample page must draw)."""
        stem = name.rsplit(".", 1)[0]
        return json.loads((self.predictions / DET_TASK / f"{stem}.json").read_text())["predictions"]


@dataclass
class LargeRun:
    dataset: int
    run: int
    samples: list[dict]  # the table the run was made from; each with its "pk"

    def view(self, tab: str = "all") -> list[dict]:
        """The samples of ``tab``, highest score first (the gallery's default order: score, then id)."""
        rows = [s for s in self.samples if tab == "all" or s["selected"] == (tab == "selected")]
        return sorted(rows, key=lambda s: (s["score"], s["pk"]), reverse=True)


def large_samples(n: int = LARGE_N, seed_value: int = 7) -> list[dict]:
    """The large run's table: distinct scores, 1-2 classes, metadata, a selection with ranks."""
    import numpy as np

    rng = np.random.default_rng(seed_value)
    scores = rng.permutation(n) / n * 0.98 + rng.random(n) * 1e-4  # distinct, in [0, 1)
    picked = rng.choice(n, LARGE_SELECTED, replace=False)
    rank = {int(i): r + 1 for r, i in enumerate(picked)}
    unscored = {int(i) for i in rng.choice(sorted(set(range(n)) - set(rank)), LARGE_UNSCORED, replace=False)}
    samples = []
    for i in range(n):
        labels = sorted({LARGE_CLASSES[j] for j in rng.integers(0, len(LARGE_CLASSES), size=int(rng.integers(1, 3)))},
                        key=LARGE_CLASSES.index)
        score = -1.0 if i in unscored else round(float(scores[i]), 6)
        entropy = round(float(rng.random()), 6)
        samples.append({
            "filename": f"{i // 500:02d}/{i:05d}.png",
            "selected": i in rank, "rank": rank.get(i), "score": score,
            "scores": ({} if i in unscored else {LARGE_PRIMARY: score}) | {f"{LARGE_TASK}/uncertainty_entropy": entropy},
            "classes": "|" + "|".join(labels) + "|", "class_list": labels,
            "metadata": {"weather": LARGE_WEATHER[int(rng.integers(0, 3))], "brightness": round(float(rng.random()), 4),
                         "lightly.width": 32, "lightly.height": 32},
            "reason": "" if i in rank else "not selected: covered by the selection",
            "x": float(rng.normal()), "y": float(rng.normal()),
        })
    return samples


def write_tiny_images(folder: Path, names: list[str], size: int = 32) -> None:
    """One small PNG per name, a different flat colour each (thousands in a second or two)."""
    from PIL import Image

    for i, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        colour = ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256)
        Image.new("RGB", (size, size), colour).save(path, compress_level=1)


@pytest.fixture(scope="session")
def staff_user(server) -> tuple[str, str]:
    seed(server, "staff", username=STAFF[0], password=STAFF[1])
    return STAFF


@pytest.fixture(scope="session")
def det_queued(server, tmp_path_factory) -> dict:
    """Carol's "Detections" dataset with its predictions uploaded, and a coral run queued on it."""
    folder = server.root / "detections"
    names = write_images(folder, DET_N_IMAGES, size=DET_IMAGE_SIZE)
    tmp = tmp_path_factory.mktemp("det-predictions")
    write_predictions(tmp, names, {DET_TASK: "object-detection"}, categories=DET_CATEGORIES, image_size=DET_IMAGE_SIZE)
    archive = tmp / "predictions.zip"
    archive.write_bytes(zip_folder(tmp / ".lightly", prefix=".lightly/"))
    made = seed(
        server, "detection_run", owner=GALLERY_USER, name="Detections", folder=str(folder), zip=str(archive),
        worker_config={"method": "coral", "stopping_condition": {"n_samples": DET_N_SELECTED},
                       "active_learning": {"task_name": DET_TASK, "score_name": "objectness_least_confidence"}},
        lightly_config={"collate": {"input_size": 32}, "loader": {"num_workers": 0}},
    )
    return {**made, "names": names, "predictions": tmp / ".lightly" / "predictions"}


@pytest.fixture(scope="session")
def large_run(server, det_queued, tmp_path_factory) -> LargeRun:
    """Carol's "Large" dataset and a completed run of LARGE_N samples (built while the worker runs)."""
    samples = large_samples()
    folder = server.root / "large"
    write_tiny_images(folder, [s["filename"] for s in samples])
    table = tmp_path_factory.mktemp("large") / "samples.json"
    table.write_text(json.dumps(samples))
    made = seed(
        server, "large_run", owner=GALLERY_USER, name="Large", folder=str(folder), samples=str(table), task=LARGE_TASK,
        categories=list(LARGE_CLASSES), primary_score=LARGE_PRIMARY, metadata_keys=LARGE_METADATA_KEYS,
        run_dir=str(server.data_dir / "users" / "large-runs"),
    )
    for s in samples:
        s["pk"] = made["pks"][s["filename"]]
    return LargeRun(dataset=made["dataset"], run=made["run"], samples=samples)


@pytest.fixture(scope="session")
def det_run(server, browser, det_queued, large_run) -> DetRun:
    """The detection run, completed: waited for on its run page, as a user would."""
    from playwright.sync_api import expect

    run_id = det_queued["run"]
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        login(page, GALLERY_USER)
        page.goto(f"/runs/{run_id}/")
        expect(page.locator("#state")).to_have_text(re.compile(r"^(completed|failed|canceled)$"), timeout=240_000)
        expect(page.locator("#status[data-finished=true]")).to_be_attached(timeout=30_000)
        page.wait_for_load_state()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "gallery-det-run-finished.png"), full_page=True)
        if page.locator("#state").inner_text().strip() != "completed":
            status = page.request.get(f"/runs/{run_id}/status.json").json()
            raise RuntimeError(f"detection run {run_id} ended {status['state']!r}: {status['error']}\n{status['log_tail'][-3000:]}")
    finally:
        context.close()
    samples = seed(server, "samples_of", run=run_id)["samples"]
    return DetRun(dataset=det_queued["dataset"], run=run_id, names=det_queued["names"],
                  predictions=det_queued["predictions"], samples=samples)


def gallery_items(page) -> list[dict]:
    """The grid as shown: filename, score text, rank text, and whether it is marked removed."""
    return page.locator("figure.sample").evaluate_all("""els => els.map(e => ({
        filename: e.dataset.filename,
        score: e.dataset.score,
        shown_score: (e.querySelector('.score') || {}).textContent || '',
        rank: ((e.querySelector('.rank') || {}).textContent || '').trim(),
        removed: e.classList.contains('removed'),
    }))""")
