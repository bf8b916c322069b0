"""A real Winnow deployment on loopback for the load and fault passes: ``manage.py serve``
(gunicorn + a django-q2 worker) on a fresh data folder, on SQLite or on PostgreSQL + Redis,
with two users holding API tokens and a dataset of generated images with predictions.

    with deployment("postgres") as live:
        client = live.client("alice")
        ...

PostgreSQL gets a throw-away database (dropped at the end) and Redis a spare database number,
so nothing of an existing installation is touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from selection_engine.client import WinnowClient  # noqa: E402
from selection_engine.synthetic import write_images, write_predictions  # noqa: E402

POSTGRES = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/13"
TASK = "shapes"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Live:
    """One running deployment: its URL, data folder, environment and users' tokens."""

    url: str
    data_dir: Path
    images: Path
    env: dict
    tokens: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None
    dataset_ids: dict[str, int] = field(default_factory=dict)

    def client(self, user: str) -> WinnowClient:
        return WinnowClient(self.url, self.tokens[user], timeout=120)

    def manage(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env,
                                capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, timeout: float = 120) -> None:
        """Start ``manage.py serve`` in its own session and wait until it answers."""
        port = self.url.rsplit(":", 1)[1]
        with open(self.log, "ab") as handle:  # the server writes to its own copy of the descriptor
            self.process = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", port], cwd=REPO, env=self.env,
                                            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not come up:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.5)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> float:
        """Signal the server and wait until it and every process it started are gone (at most
        ``timeout`` seconds); the seconds it took. ``leftovers`` then lists what outlived it."""
        if self.process is None:
            return 0.0
        self._stopped_from = self.descendants()
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, sig)
        deadline = started + timeout
        while time.monotonic() < deadline and (self.process.poll() is None or self.leftovers()):
            time.sleep(0.1)
        return time.monotonic() - started

    def descendants(self) -> dict[int, str]:
        """Every live process below the server: {pid: start time} (which tells a reused pid apart)."""
        table = {}
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z":
                    table[int(entry.name)] = (int(fields[1]), fields[19])
        found, frontier = {}, [self.process.pid] if self.process else []
        while frontier:
            parent = frontier.pop()
            for pid, (ppid, started) in table.items():
                if ppid == parent and pid not in found:
                    found[pid] = started
                    frontier.append(pid)
        return found

    def leftovers(self) -> list[int]:
        """Processes the server had started before ``stop`` that are still alive."""
        left = []
        for pid, started in getattr(self, "_stopped_from", {}).items():
            with contextlib.suppress(OSError, IndexError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z" and fields[19] == started:
                    left.append(pid)
        return left

    def kill_session(self) -> None:
        """SIGKILL whatever is left of the server and what it started."""
        for pid in [*self.leftovers(), *self.descendants()]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                return response.status == 200
        except Exception:
            return False


def _environment(data_dir: Path, database: str) -> tuple[dict, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("WINNOW_") and k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "webapp.settings", "WINNOW_DATA_DIR": str(data_dir),
        "WINNOW_DATASOURCE_ROOTS": str(data_dir / "roots"), "SECRET_KEY": "live-bench-" + "x" * 40,
        "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1",
    })
    name = ""
    if database == "postgres":
        import psycopg

        name = f"winnow_live_{os.getpid()}"
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
        env.update({"DATABASE_URL": f"{POSTGRES}/{name}", "WINNOW_BROKER": REDIS})
        import redis

        redis.Redis.from_url(REDIS).flushdb()
    return env, name


def _drop(name: str) -> None:
    if name:
        import psycopg

        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def deployment(database: str = "sqlite", n_images: int = 200, users: tuple[str, ...] = ("alice", "bob"),
               data_dir: Path | None = None, settings: dict[str, str] | None = None) -> Iterator[Live]:
    """A started deployment with ``users`` (each owning a dataset "shapes-<user>" of generated
    images and classification predictions); stopped and removed at the end."""
    own_dir = data_dir is None
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix=f"winnow-live-{database}-"))
    env, db_name = _environment(data_dir, database)
    env.update(settings or {})
    images = data_dir / "roots" / "shapes"
    names = write_images(images, n_images, size=(48, 48), folders=("a", "b"))
    write_predictions(images, names, {TASK: "classification"}, categories=("round", "square"), image_size=(48, 48))
    live = Live(url=f"http://127.0.0.1:{free_port()}", data_dir=data_dir, images=images, env=env, tokens={},
                log=data_dir / "server.log")
    try:
        live.manage("migrate", "--noinput")
        live.manage("createcachetable")
        live.manage("shell", "-c", "from django.contrib.auth import get_user_model\n"
                    f"for name in {list(users)!r}:\n    get_user_model().objects.create_user(name, password=name + '-pass-1')\n")
        live.tokens = {user: live.manage("create_api_token", user).strip() for user in users}
        live.start()
        for user in users:
            client = live.client(user)
            dataset = client.create_dataset(f"shapes-{user}", {"type": "local", "path": str(images)})
            client.upload_predictions(dataset, images / ".lightly" / "predictions")
            live.dataset_ids[user] = dataset
        yield live
    except BaseException:
        tail = live.log.read_text(errors="replace")[-3000:] if live.log.exists() else ""
        print(f"--- server log (tail) ---\n{tail}", file=sys.stderr)
        raise
    finally:
        live.stop(timeout=20)
        live.kill_session()
        _drop(db_name)
        if own_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


CORESET = {"worker_config": {"method": "coreset", "stopping_condition": {"n_samples": 20}},
           "lightly_config": {"collate": {"input_size": 32}, "loader": {"num_workers": 0}}}
