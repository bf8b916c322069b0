"""Start the web server and a django-q2 worker together (what `make run` ends with)."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the web app on 127.0.0.1:WINNOW_PORT (default 8000) with a background worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("WINNOW_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("WINNOW_PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="Web server only (workers run elsewhere).")

    def handle(self, host, port, no_worker, **options):
        python = sys.executable
        children = []
        if not no_worker:
            children.append(subprocess.Popen([python, "manage.py", "qcluster"], cwd=settings.BASE_DIR))
        children.append(subprocess.Popen(
            [python, "-m", "gunicorn", "webapp.wsgi", "--bind", f"{host}:{port}", "--workers", "2",
             "--threads", "4", "--timeout", "120", "--access-logfile", "-"],
            cwd=settings.BASE_DIR,
        ))
        self.stdout.write(self.style.SUCCESS(f"Winnow is running at http://{host}:{port}/  (Ctrl-C stops it)"))

        def stop(*_):
            for child in children:
                if child.poll() is None:
                    child.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for child in children:
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [c.args[2] if len(c.args) > 2 else c.args for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
        if failed:
            self.stderr.write(f"Stopped because a process exited: {failed}")
