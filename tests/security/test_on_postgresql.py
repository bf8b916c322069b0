"""The name and query-parameter checks again, on PostgreSQL: the database that turned a NUL in a
filter or an overlong tag name into a 500 where SQLite had stored it.

The suite runs on SQLite; this module runs those two modules once more in a pytest of their own
whose ``DATABASE_URL`` points at PostgreSQL on 127.0.0.1:5432 (pytest-django makes and drops a
``test_`` database there). Skips, saying so, where PostgreSQL cannot be reached. To run them by
hand: ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/winnow pytest tests/security/test_names.py
tests/security/test_query_parameters.py``.
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
MODULES = ["tests/security/test_names.py", "tests/security/test_query_parameters.py"]


@pytest.mark.timeout(900)
@pytest.mark.skipif(not reachable(PG), reason="PostgreSQL not reachable on 127.0.0.1:5432 — name and query-parameter checks NOT run on PostgreSQL")
def test_names_and_query_parameters_hold_on_postgresql():
    if connection.vendor == "postgresql":
        pytest.skip("this suite already runs on PostgreSQL: the modules run here directly")
    env = {**os.environ, "DATABASE_URL": f"{POSTGRES_URL}/winnow_security_{uuid.uuid4().hex[:8]}"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *MODULES, "-q", "-p", "no:cacheprovider"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=880,
    )
    assert result.returncode == 0, f"on PostgreSQL:\n{result.stdout[-8000:]}\n{result.stderr[-3000:]}"
