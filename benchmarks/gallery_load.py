"""Completing a 1,000,000-sample run on PostgreSQL: its samples into the gallery tables through
COPY (``webapp.bulk``, what ``runs.services.complete_run`` ships) vs the ORM's ``bulk_create``.

Writes a run directory of N samples the way the engine writes one (selected/removed CSVs, scores,
classes, metadata, 32-d normalized embeddings; 1% selected), makes a fresh database on
PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth; ``--database-url`` for another), then in
this process:

- bulk: ``complete_run`` itself (rows streamed from the files into COPY, one transaction);
- ORM: ``complete_run`` as it was before the bulk path, RunSample instances from
  ``results.load_samples`` through ``bulk_create(batch_size=2000)``, the tag's items likewise.

Both start from empty sample tables (TRUNCATE and CHECKPOINT between), and each prints its time;
then the ratio, the time to read the run directory alone (the part no database can speed up) and
the process's peak memory after each (the bulk path runs first, so its figure is its own). The
database and the files are removed at the end. Exits with a message, doing nothing, where
PostgreSQL cannot be reached.

    .venv/bin/python benchmarks/gallery_load.py [--samples 1000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SERVER = "postgres://postgres@127.0.0.1:5432"


def write_run_dir(run_dir: Path, n: int, dims: int = 32, seed: int = 0) -> int:
    """A finished run's files for the gallery, N samples (1% selected); how many were selected."""
    rng = np.random.default_rng(seed)
    (run_dir / "data").mkdir(parents=True)
    names = np.array([f"images/{i // 1000:04d}/{i:07d}.jpg" for i in range(n)], dtype=object)
    score_names = ["det/uncertainty_least_confidence", "det/uncertainty_margin", "det/uncertainty_entropy"]
    scores = rng.random((n, 3))
    pd.DataFrame({"filenames": names, **{c: scores[:, j] for j, c in enumerate(score_names)}}).to_csv(
        run_dir / "data/scores.csv", index=False, float_format="%.6g")
    kinds = np.array(["car", "person", "bicycle", "bus", "car;person", "bus;car;person"], dtype=object)
    pd.DataFrame({"filenames": names, "det": kinds[rng.integers(0, len(kinds), n)]}).to_csv(
        run_dir / "data/classes.csv", index=False)
    pd.DataFrame({
        "filenames": names, "weather": np.array(["sunny", "rain", "fog"], dtype=object)[np.arange(n) % 3],
        "lightly.sharpness": rng.random(n) * 1000, "lightly.snr": rng.random(n) * 5,
        "lightly.sizeInBytes": rng.integers(1000, 100_000, n), "lightly.width": 640, "lightly.height": 480,
    }).to_csv(run_dir / "data/metadata.csv", index=False)
    embeddings = rng.normal(size=(n, dims)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    frame = pd.DataFrame(embeddings, columns=[f"embedding_{d}" for d in range(dims)])
    frame.insert(0, "filenames", names)
    frame.to_csv(run_dir / "data/normalized_embeddings.csv", index=False, float_format="%.8g")
    k = max(1, n // 100)
    picks = rng.choice(n, k, replace=False)
    selected = pd.DataFrame({"filenames": names[picks], "rank": np.arange(1, k + 1)})
    for j, column in enumerate(score_names):
        selected[column] = scores[picks, j]
    selected["contribution/DIVERSITY"] = rng.random(k)
    selected["contribution/WEIGHTS:det/uncertainty_margin"] = scores[picks, 1]
    selected["distance_to_nearest_earlier_pick"] = np.where(np.arange(k) == 0, np.nan, rng.random(k))
    selected["reason"] = [f"DIVERSITY {a:.3f} + WEIGHTS:det/uncertainty_margin {b:.3f}"
                          for a, b in zip(selected["contribution/DIVERSITY"], scores[picks, 1])]
    selected.to_csv(run_dir / "data/selected_samples.csv", index=False, float_format="%.6g")
    chosen = np.zeros(n, dtype=bool)
    chosen[picks] = True
    rest = np.flatnonzero(~chosen)
    pd.DataFrame({
        "filenames": names[rest], "reason": "not selected",
        "nearest_selected": names[picks[rng.integers(0, k, len(rest))]], "distance": rng.random(len(rest)),
    }).to_csv(run_dir / "removed_samples.csv", index=False, float_format="%.6g")
    return k


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=SERVER, help="a PostgreSQL server; a database is made and dropped there")
    args = parser.parse_args()
    try:
        import psycopg

        with psycopg.connect(f"{args.database_url}/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # not installed, not running, refused: say so and stop
        print(f"SKIPPED: PostgreSQL not reachable at {args.database_url} ({type(exc).__name__}: {exc})")
        return

    data = Path(tempfile.mkdtemp(prefix="winnow-bench-load-"))
    name = f"winnow_bench_load_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{args.database_url}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(WINNOW_DATA_DIR=str(data), WINNOW_DATASOURCE_ROOTS=str(data), DJANGO_SETTINGS_MODULE="webapp.settings",
                      DATABASE_URL=f"{args.database_url}/{name}")
    try:
        measure(data, args.samples)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{args.database_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(data, ignore_errors=True)  # the run directory of a million samples: 600 MB


def measure(data: Path, n: int) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from webapp.datasets.models import Dataset, Tag, TagItem
    from webapp.runs import results
    from webapp.runs.models import Run, RunSample
    from webapp.runs.services import complete_run

    def orm_complete_run(run: Run, *, run_dir: Path, n_selected: int) -> None:
        """complete_run before the bulk path (model instances through bulk_create)."""
        samples = results.load_samples(run, run_dir)
        picked = [s.filename for s in samples if s.selected]
        with transaction.atomic():
            RunSample.objects.filter(run=run).delete()
            RunSample.objects.bulk_create(samples, batch_size=2000)
            tag, _ = Tag.objects.update_or_create(
                dataset=run.dataset, name=f"run-{run.pk}-selected", defaults={"run": run, "query": {}, "size": len(picked)}
            )
            tag.items.all().delete()
            TagItem.objects.bulk_create([TagItem(tag=tag, filename=name) for name in picked], batch_size=5000)
            Run.objects.filter(pk=run.pk).update(
                state=Run.COMPLETED, n_selected=n_selected, finished_at=timezone.now(), stage="done", error="",
                facts=results.metadata_facts(samples),
            )

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-pass-1")
    dataset = Dataset.objects.create(owner=user, name="bench", path=str(data))
    started = time.perf_counter()
    run_dir = data / "run"
    n_selected = write_run_dir(run_dir, n)
    print(f"wrote a run directory of {n:,} samples ({n_selected:,} selected) in {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute("SHOW shared_buffers")
        print(f"PostgreSQL {connection.pg_version // 10000}, shared_buffers {cursor.fetchone()[0]}; "
              f"RunSample has {len(RunSample._meta.indexes)} indexes besides its primary key and run_id\n")

    def fresh() -> Run:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {RunSample._meta.db_table}, {TagItem._meta.db_table}")
            cursor.execute("CHECKPOINT")
        return Run.objects.create(owner=user, dataset=dataset, state=Run.RUNNING, primary_score="det/uncertainty_margin")

    times = {}
    for label, complete in (("bulk (COPY)", complete_run), ("ORM (bulk_create)", orm_complete_run)):
        run = fresh()
        started = time.perf_counter()
        complete(run, run_dir=run_dir, n_selected=n_selected)
        times[label] = time.perf_counter() - started
        run.refresh_from_db()
        assert run.state == Run.COMPLETED and run.samples.count() == n, (run.state, run.samples.count())
        assert Tag.objects.get(run=run).items.count() == n_selected
        print(f"{label:18s} {times[label]:7.1f} s  ({n / times[label]:,.0f} samples/s; process peak {peak_mb():,.0f} MB)")

    bulk, orm = times["bulk (COPY)"], times["ORM (bulk_create)"]
    print(f"\nORM / bulk: {orm / bulk:.1f}x")
    started = time.perf_counter()
    read = sum(1 for _ in results.SampleRows(Run(pk=0, primary_score="det/uncertainty_margin"), run_dir))
    print(f"reading the run directory alone (no database): {time.perf_counter() - started:.1f} s for {read:,} rows")


if __name__ == "__main__":
    main()
