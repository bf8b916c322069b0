"""Start the web server and a django-q2 worker together (what `make run` ends with).

Each child runs in a process group of its own, so a stop reaches everything it started:
gunicorn's workers, and qcluster's sentinel, pusher, monitor and workers (signalling the qcluster
parent alone leaves those running unsupervised, and a restarted server then sees two clusters).
A stop (SIGTERM, SIGINT or SIGHUP to ``serve``) sends SIGTERM to each child, which shuts its own
processes down in order; after ``--stop-timeout`` seconds whatever is left of each group is
killed.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

#: AF_UNIX socket paths are limited to 108 bytes on Linux, 104 on macOS.
_MAX_SOCKET_PATH = 100


def control_socket(port: int) -> Path | None:
    """gunicorn's control socket for the instance on this machine and ``port``, in the data dir:
    never the ``~/.gunicorn/gunicorn.ctl`` that every gunicorn on the machine would overwrite (the
    host name keeps web machines sharing one data dir apart). None (no control socket) when the
    path is too long for a Unix socket."""
    host = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())
    path = settings.DATA_DIR / f"gunicorn-{host}-{port}.ctl"
    return path if len(os.fsencode(path)) <= _MAX_SOCKET_PATH else None


def gunicorn_command(host: str, port: int, stop_timeout: float) -> list[str]:
    socket_path = control_socket(port)
    return [
        sys.executable, "-m", "gunicorn", "webapp.wsgi", "--bind", f"{host}:{port}", "--workers", "2",
        "--threads", "4", "--timeout", "120", "--access-logfile", "-",
        # Finish open requests within our own stop timeout, not gunicorn's default 30 s.
        "--graceful-timeout", str(max(1, int(stop_timeout) - 1)),
        *(["--control-socket", str(socket_path)] if socket_path else ["--no-control-socket"]),
    ]


def _die_with_parent() -> None:
    """In a child, before it runs: on Linux, ask the kernel to SIGTERM it when ``serve`` dies, even
    by SIGKILL (which no handler of ours sees), so the child then stops its own processes."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _start(command: list[str]) -> subprocess.Popen:
    """A child in a session (and process group) of its own that dies with ``serve``."""
    return subprocess.Popen(command, cwd=settings.BASE_DIR, start_new_session=True, preexec_fn=_die_with_parent)


def _has_exited(child: subprocess.Popen) -> bool:
    """Has ``child`` exited? Unlike ``poll()`` it leaves the zombie unreaped, so its pid, and the
    process group named after it, cannot be reused by another process before we kill the group."""
    if child.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def stop_children(children: dict[str, subprocess.Popen], timeout: float) -> None:
    """SIGTERM each child, wait up to ``timeout`` seconds for all to exit, then SIGKILL each child's
    whole process group (what a child left behind, or a child that would not stop) and reap."""
    for child in children.values():
        if not _has_exited(child):
            # The leader alone: it stops its own processes in order (SIGTERM to the whole group at
            # once makes django-q2's sentinel wait for workers that are already gone).
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(_has_exited(child) for child in children.values()):
        time.sleep(0.1)
    for child in children.values():
        # ProcessLookupError: the group is empty (PermissionError: macOS, for a group of zombies only)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


class Command(BaseCommand):
    help = "Serve the web app on 127.0.0.1:WINNOW_PORT (default 8000) with a background worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("WINNOW_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("WINNOW_PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="Web server only (workers run elsewhere).")
        parser.add_argument("--stop-timeout", type=float, default=10.0,
                            help="Seconds a stop waits for the server and the worker before killing them (default 10).")

    def handle(self, host, port, no_worker, stop_timeout, **options):
        stopping: list[int] = []

        def request_stop(signum, _frame):
            stopping.append(signum)

        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, request_stop)

        children: dict[str, subprocess.Popen] = {}
        try:
            if not no_worker:
                children["worker"] = _start([sys.executable, "manage.py", "qcluster"])
            children["web server"] = _start(gunicorn_command(host, port, stop_timeout))
            url = f"http://{host}:{port}/"
            # A wildcard address is not a host to ask: its Host header ("0.0.0.0:8000") is not in
            # ALLOWED_HOSTS, so the probe would get 400s (and log a traceback each) for a minute.
            probe = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
            if self._wait_until_up(f"http://{probe}:{port}/healthz", children["web server"], stopping):
                self.stdout.write(self.style.SUCCESS(f"Winnow is running at {url}  (Ctrl-C stops it)"))
            while not stopping and not any(_has_exited(child) for child in children.values()):
                time.sleep(0.2)
            # Whatever exited before we stopped it did so on its own: say which and why.
            exited = {name for name, child in children.items() if _has_exited(child)}
        finally:
            stop_children(children, stop_timeout)
        if exited and not stopping:  # not a requested stop: say which and why, and exit non-zero
            for name in sorted(exited):  # so that a supervisor (systemd, docker) restarts us
                self.stderr.write(f"The {name} exited on its own (code {children[name].returncode}); everything was stopped.")
            sys.exit(1)

    @staticmethod
    def _wait_until_up(url: str, server: subprocess.Popen, stopping: list[int], seconds: float = 60) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not stopping and not _has_exited(server):
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return True
            except OSError:
                time.sleep(0.3)
        return False
