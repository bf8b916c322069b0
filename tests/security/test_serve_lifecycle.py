"""``manage.py serve`` stops everything it started, promptly, and two instances on one machine keep
their gunicorn control sockets apart.

Real processes on a throw-away SQLite data dir: one ``serve`` with its worker and one web-only
``serve`` on another port of the same data dir. Their descendants are collected from /proc while
they run; after SIGTERM none may be left (zombies waiting for init do not count).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to follow processes")

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120
#: serve's default --stop-timeout is 10 s; an idle server stops in about a second.
STOP_WITHIN = 15
HOST = socket.gethostname()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _proc(pid: int) -> tuple[int, str, str] | None:
    """``(parent pid, state, start time)`` of ``pid`` from /proc, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), fields[0], fields[19]


def descendants(pid: int) -> dict[int, str]:
    """Every live process below ``pid``: {pid: start time} (the start time tells a reused pid apart)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _proc(int(entry.name))) is not None:
            table[int(entry.name)] = info
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, state, started) in table.items():
            if ppid == parent and child not in found and state != "Z":
                found[child] = started
                frontier.append(child)
    return found


def alive(processes: dict[int, str]) -> dict[int, str]:
    """Those of ``processes`` still running (not zombies, and not a new process on a reused pid)."""
    left = {}
    for pid, started in processes.items():
        info = _proc(pid)
        if info is not None and info[1] != "Z" and info[2] == started:
            left[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return left


def _health(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
            return json.loads(response.read())
    except Exception:
        return None


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """``(env, data dir, home)``: a migrated SQLite data dir, and a HOME of its own (to see whether
    anything writes ``~/.gunicorn``)."""
    data_dir = tmp_path_factory.mktemp("serve")
    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("WINNOW_") and k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG",
                                                        "XDG_RUNTIME_DIR")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "webapp.settings", "WINNOW_DATA_DIR": str(data_dir), "HOME": str(home),
        "SECRET_KEY": "serve-tests-only-" + "x" * 40, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1",
    })
    for args in (["migrate", "--noinput"], ["createcachetable"]):
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
    return env, data_dir, home


class Serve:
    """One ``manage.py serve`` in a session of its own, so the test can clean up whatever it leaves."""

    def __init__(self, env: dict, data_dir: Path, *extra: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / f"serve-{self.port}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--port", str(self.port), *extra],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def wait_until(self, ready) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"serve exited with {self.process.returncode}:\n{self.log.read_text()}"
            if ready(_health(self.url)):
                return
            time.sleep(0.5)
        raise AssertionError(f"serve on {self.port} did not come up:\n{self.log.read_text()[-5000:]}")

    def stop_and_collect(self, started: dict[int, str], sig: int = signal.SIGTERM,
                         group: bool = False) -> tuple[float, dict[int, str]]:
        """Send ``sig`` to ``serve`` (or its process group); (seconds until it and every process it
        started were gone, what is left then)."""
        begin = time.monotonic()
        if group:
            os.killpg(self.process.pid, sig)
        else:
            self.process.send_signal(sig)
        deadline = begin + STOP_WITHIN
        while time.monotonic() < deadline and (self.process.poll() is None or alive(started)):
            time.sleep(0.1)
        return time.monotonic() - begin, alive(started)

    def kill_everything(self, started: dict[int, str]) -> None:
        for pid in alive(started):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def _started(instance: Serve) -> dict[int, str]:
    """Wait until ``instance`` reports a live worker; its processes then."""
    instance.wait_until(lambda health: health and health["worker"]["status"] == "ok")
    time.sleep(1)  # django-q2 starts its workers after the cluster first reports
    started = descendants(instance.process.pid)
    commands = " | ".join(alive(started).values())
    assert "qcluster" in commands and "gunicorn" in commands, commands
    assert len(started) >= 5, commands  # gunicorn and 2 workers, qcluster and its sentinel, workers…
    return started


@pytest.mark.parametrize("target, sig", [
    ("serve", signal.SIGTERM),  # kill <pid>, docker stop
    ("group", signal.SIGTERM),  # kill -- -<pgid>, a supervisor stopping the process group
    ("group", signal.SIGINT),  # Ctrl-C in the terminal reaches the whole foreground group
], ids=["sigterm-to-serve", "sigterm-to-group", "ctrl-c"])
def test_a_stop_leaves_nothing_running(world, target, sig):
    env, data_dir, _ = world
    instance = Serve(env, data_dir)
    started: dict[int, str] = {}
    try:
        started = _started(instance)
        seconds, left = instance.stop_and_collect(started, sig, group=target == "group")
        assert not left, f"still running {seconds:.1f} s after the stop: {left}"
        assert instance.process.returncode == 0, instance.log.read_text()[-3000:]
    finally:
        instance.kill_everything(started)


def test_a_stop_during_a_task_leaves_nothing_running(world):
    """A busy worker does not stop by itself: after the stop timeout it is killed, with its cluster."""
    env, data_dir, _ = world
    instance = Serve(env, data_dir)
    started: dict[int, str] = {}
    try:
        started = _started(instance)
        taken = subprocess.run([sys.executable, "manage.py", "shell", "-c", BUSY], cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=120)
        assert taken.stdout.split()[-1:] == ["taken"], taken.stdout + taken.stderr
        seconds, left = instance.stop_and_collect(started, signal.SIGTERM)
        assert not left, f"still running {seconds:.1f} s after the stop: {left}"
    finally:
        instance.kill_everything(started)


#: Queue a two-minute task and wait until a worker has taken it off the queue.
BUSY = """
import time
from django_q.brokers import get_broker
from django_q.tasks import async_task
async_task("time.sleep", 120)
deadline = time.monotonic() + 30
while get_broker().queue_size() and time.monotonic() < deadline:
    time.sleep(0.2)
print("taken" if not get_broker().queue_size() else "still queued")
"""


def test_two_instances_keep_their_own_control_socket(world):
    env, data_dir, home = world
    first, second = Serve(env, data_dir, "--no-worker"), Serve(env, data_dir, "--no-worker")
    started: dict[int, dict[int, str]] = {}
    try:
        for instance in (first, second):
            instance.wait_until(lambda health: health is not None)
            started[instance.port] = descendants(instance.process.pid)
        sockets = {instance.port: data_dir / f"gunicorn-{HOST}-{instance.port}.ctl" for instance in (first, second)}
        for path in sockets.values():
            assert path.exists() and stat.S_ISSOCK(path.stat().st_mode), f"no control socket at {path}"
        assert not (home / ".gunicorn").exists(), "a gunicorn used the control socket shared by the whole machine"
        seconds, left = first.stop_and_collect(started[first.port])
        assert not left, f"still running {seconds:.1f} s after the stop: {left}"
        assert _health(second.url) is not None and sockets[second.port].exists()  # the other one is untouched
    finally:
        first.kill_everything(started.get(first.port, {}))
        second.kill_everything(started.get(second.port, {}))


def test_the_gunicorn_command_names_a_control_socket_per_machine_and_port_in_the_data_dir(settings, tmp_path,
                                                                                         monkeypatch):
    from webapp.runs.management.commands.serve import gunicorn_command

    settings.DATA_DIR = tmp_path
    first, second = gunicorn_command("127.0.0.1", 8001, 10), gunicorn_command("127.0.0.1", 8002, 10)
    socket_of = lambda command: command[command.index("--control-socket") + 1]  # noqa: E731
    assert socket_of(first) == str(tmp_path / f"gunicorn-{HOST}-8001.ctl") != socket_of(second)
    monkeypatch.setattr("socket.gethostname", lambda: "web-2")  # another web machine on a shared data dir
    assert socket_of(gunicorn_command("0.0.0.0", 8001, 10)) == str(tmp_path / "gunicorn-web-2-8001.ctl")
    monkeypatch.undo()
    settings.DATA_DIR = tmp_path / ("d" * 120)  # too long for a Unix socket: none, rather than the shared one
    assert "--no-control-socket" in gunicorn_command("127.0.0.1", 8001, 10)


def test_serve_killed_outright_takes_what_it_started_with_it(world):
    """SIGKILL (the OOM killer, ``kill -9``) gives serve no chance to stop its children: the kernel
    tells them (PR_SET_PDEATHSIG), and they stop their own processes."""
    env, data_dir, _ = world
    instance = Serve(env, data_dir)
    started: dict[int, str] = {}
    try:
        started = _started(instance)
        seconds, left = instance.stop_and_collect(started, signal.SIGKILL)
        assert not left, f"still running {seconds:.1f} s after serve was killed: {left}"
    finally:
        instance.kill_everything(started)


def test_a_worker_that_dies_on_its_own_stops_serve_with_a_failure_a_supervisor_sees(world):
    env, data_dir, _ = world
    instance = Serve(env, data_dir)
    started: dict[int, str] = {}
    try:
        started = _started(instance)
        cluster = next(pid for pid, command in alive(started).items()
                       if "qcluster" in command and _proc(pid)[0] == instance.process.pid)
        os.kill(cluster, signal.SIGKILL)
        seconds, left = instance.stop_and_collect(started, 0)  # signal 0: only wait
        assert not left, f"still running {seconds:.1f} s after the worker died: {left}"
        assert instance.process.returncode == 1
        assert "The worker exited on its own (code -9); everything was stopped." in instance.log.read_text()
    finally:
        instance.kill_everything(started)
