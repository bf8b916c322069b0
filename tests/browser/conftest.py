"""Browser tests: a real Winnow server (gunicorn + django-q2 worker) driven by headless Chromium.

One server for the whole session: a fresh WINNOW_DATA_DIR with one allowed datasource root,
two users, ``manage.py serve`` on a free port. Every page a test visits is saved as a full-page
screenshot in ``test-artifacts/screenshots/<test>-<nn>-<step>.png``; the server's log is copied
to ``test-artifacts/browser-server.log`` at the end.

Chromium comes from Debian (/usr/bin/chromium); without it the tests are skipped, loudly.
"""

from __future__ import annotations

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
from dataclasses import dataclass
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

USERS = {"alice": "alice-browser-pass-1", "bob": "bob-browser-pass-1"}

SERVER_START_TIMEOUT = 120  # seconds until /healthz reports the database and a worker


@dataclass
class Server:
    url: str
    data_dir: Path
    root: Path  # the one allowed datasource root
    images: Path  # a folder of generated images under ``root``
    image_names: list[str]
    log: Path


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
        yield Server(url=url, data_dir=data_dir, root=root, images=images, image_names=names, log=log)
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
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
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
        try:
            page.screenshot(path=str(SCREENSHOTS / f"{_safe(request.node.name)}-zz-failure.png"), full_page=True)
        except Exception:
            pass
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
