"""Migrate, make the cache table and ensure the admin account, one process at a time.

What a web container runs before it serves (docker/entrypoint.sh). Several web containers may
start at once against one database: each waits here for the others instead of racing them
through the same migrations (two concurrent ``migrate`` runs fail on "relation already exists").
On PostgreSQL the lock is a session advisory lock, so it also holds across machines; elsewhere
(SQLite, whose file lives in the data dir that the containers share) it is a file lock in the
data dir.
"""

import fcntl
import time
import zlib
from contextlib import contextmanager

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

#: One advisory-lock key for "Winnow is preparing its database", stable across releases.
LOCK_KEY = zlib.crc32(b"winnow.prepare_database")


@contextmanager
def _advisory_lock():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


@contextmanager
def _file_lock():
    with open(settings.DATA_DIR / ".prepare_database.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield


class Command(BaseCommand):
    help = "migrate + createcachetable + ensure_admin, waiting for any other process doing the same."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=60.0,
                            help="Seconds to keep retrying while the database is unreachable (default 60).")

    def handle(self, wait, **options):
        self._wait_for_database(wait)
        lock = _advisory_lock if connection.vendor == "postgresql" else _file_lock
        with lock():
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
            call_command("createcachetable", verbosity=options["verbosity"])
            call_command("ensure_admin")

    def _wait_for_database(self, seconds: float) -> None:
        """A database container that has just started may refuse connections for a while."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                connection.ensure_connection()
                return
            except Exception as exc:
                if time.monotonic() >= deadline:
                    raise
                self.stderr.write(f"Database not reachable yet ({type(exc).__name__}); retrying.")
                connection.close()
                time.sleep(2)
