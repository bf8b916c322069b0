"""Start the web server and a django-q2 worker together (what `make run` ends with)."""

import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand


def _wait_until_up(url: str, process: subprocess.Popen, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.3)
    return False


class Command(BaseCommand):
    help = "Serve the web app on 127.0.0.1:WINNOW_PORT (default 8000) with a background worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("WINNOW_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("WINNOW_PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="Web server only (workers run elsewhere).")

    def handle(self, host, port, no_worker, **options):
        python = sys.executable
        children: dict[str, subprocess.Popen] = {}
        if not no_worker:
            children["worker"] = subprocess.Popen([python, "manage.py", "qcluster"], cwd=settings.BASE_DIR)
        children["web server"] = subprocess.Popen(
            [python, "-m", "gunicorn", "webapp.wsgi", "--bind", f"{host}:{port}", "--workers", "2",
             "--threads", "4", "--timeout", "120", "--access-logfile", "-"],
            cwd=settings.BASE_DIR,
        )
        url = f"http://{host}:{port}/"
        if _wait_until_up(url + "healthz", children["web server"]):
            self.stdout.write(self.style.SUCCESS(f"Winnow is running at {url}  (Ctrl-C stops it)"))

        def stop(*_):
            for child in children.values():
                if child.poll() is None:
                    child.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(child.poll() is None for child in children.values()):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        # Whatever exited before we stopped it did so on its own: say which and why.
        exited = {name: child.returncode for name, child in children.items() if child.poll() is not None}
        stop()
        for child in children.values():
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for name, code in exited.items():
            if code not in (0, -signal.SIGTERM, -signal.SIGINT):
                self.stderr.write(f"The {name} exited with code {code}; everything was stopped.")
