"""Completing a run on PostgreSQL: the samples go in through COPY and read back exactly as the
ORM's bulk_create stored them (awkward file names and metadata, NULL ranks, JSON nulls), and a
row PostgreSQL refuses mid-COPY leaves no samples and the run not completed.

tests/webapp/test_run_bulk_load.py once more, in a pytest of its own whose ``DATABASE_URL``
points at PostgreSQL on 127.0.0.1:5432 (pytest-django makes and drops a ``test_`` database
there). Skips, saying so, where PostgreSQL cannot be reached. By hand:
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/winnow pytest tests/webapp/test_run_bulk_load.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.services import PG, POSTGRES_URL, reachable

REPO = Path(__file__).resolve().parents[2]
MODULE = "tests/webapp/test_run_bulk_load.py"


@pytest.mark.timeout(600)
@pytest.mark.skipif(not reachable(PG), reason="PostgreSQL not reachable on 127.0.0.1:5432 — the COPY path is NOT tested")
def test_completing_a_run_on_postgresql_stores_what_the_orm_stored():
    if connection.vendor == "postgresql":
        pytest.skip(f"this suite already runs on PostgreSQL: {MODULE} runs here directly")
    env = {**os.environ, "DATABASE_URL": f"{POSTGRES_URL}/winnow_bulk_{uuid.uuid4().hex[:8]}"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", MODULE, "-q", "-p", "no:cacheprovider", "-rs"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=580,
    )
    assert result.returncode == 0, f"on PostgreSQL:\n{result.stdout[-8000:]}\n{result.stderr[-3000:]}"
    assert " skipped" not in result.stdout.splitlines()[-1], f"a test skipped on PostgreSQL:\n{result.stdout[-3000:]}"
