"""Gallery speed on a 100,000-sample run: server time and SQL queries per page.

Builds a completed run of N samples in a fresh SQLite database (realistic scores, classes and
metadata per sample), then requests the gallery through Django's test client: the first page
and a page 90% deep, with and without a filter (score range + class). Each is the median of 20
requests; the SQL query count comes from the same requests. As a baseline, in the same process,
the same deep page fetched with OFFSET paging (what a Paginator does).

    .venv/bin/python benchmarks/gallery.py [--samples 100000] [--repeats 20]

Target (issue 7): median under 50 ms and the same query count on every page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(tempfile.mkdtemp(prefix="winnow-bench-gallery-"))
os.environ.update(WINNOW_DATA_DIR=str(DATA), WINNOW_DATASOURCE_ROOTS=str(DATA / "images"),
                  DJANGO_SETTINGS_MODULE="webapp.settings", DATABASE_URL=f"sqlite:///{DATA / 'bench.sqlite3'}")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from webapp.datasets.models import Dataset  # noqa: E402
from webapp.gallery import selectors  # noqa: E402
from webapp.runs.models import Run, RunSample  # noqa: E402

CLASSES = ["car", "person", "bicycle", "bus", "truck", "dog", "cat", "bird"]


def build(n: int) -> Run:
    call_command("migrate", verbosity=0)
    (DATA / "images").mkdir(exist_ok=True)
    user = get_user_model().objects.create_user("bench", password="bench-pass-1")
    dataset = Dataset.objects.create(owner=user, name="bench", path=str(DATA / "images"))
    run = Run.objects.create(owner=user, dataset=dataset, state=Run.COMPLETED, primary_score="det/uncertainty_margin",
                             n_selected=n // 100, facts={"metadata_keys": ["lightly.height", "lightly.width", "weather"],
                                                              "numeric_metadata": ["lightly.height", "lightly.width"]})
    rng = np.random.default_rng(0)
    scores = rng.random((n, 3))
    picked = rng.choice(n, n // 100, replace=False)
    rank = np.zeros(n, dtype=int)
    rank[picked] = np.arange(1, len(picked) + 1)
    labels = rng.integers(0, len(CLASSES), size=(n, 2))
    started = time.perf_counter()
    rows = []
    for i in range(n):
        rows.append(RunSample(
            run=run, filename=f"images/{i // 1000:03d}/{i:07d}.jpg", selected=bool(rank[i]), rank=int(rank[i]) or None,
            score=float(scores[i, 1]), classes="|" + "|".join(CLASSES[j] for j in sorted(set(labels[i]))) + "|",
            scores={"det/uncertainty_least_confidence": float(scores[i, 0]), "det/uncertainty_margin": float(scores[i, 1]),
                    "det/uncertainty_entropy": float(scores[i, 2])},
            metadata={"weather": ["sunny", "rain", "fog"][i % 3], "lightly.width": 640, "lightly.height": 480},
            reason="" if rank[i] else "not selected", row=i, x=float(rng.normal()), y=float(rng.normal()),
        ))
    RunSample.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"built {n:,} samples in {time.perf_counter() - started:.1f} s ({DATA})")
    return run


def measure(client: Client, url: str, params: dict, repeats: int) -> tuple[float, int, int]:
    """(median ms, SQL queries, samples shown) over ``repeats`` requests."""
    times, queries = [], set()
    shown = 0
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.status_code
        queries.add(len(captured))
        shown = response.content.decode().count('<figure class="sample')
    assert len(queries) == 1, f"query count varies between identical requests: {queries}"
    return statistics.median(times), queries.pop(), shown


def deep_cursor(run: Run, query: selectors.GalleryQuery, fraction: float) -> tuple[str, int]:
    """The cursor of the page starting ``fraction`` of the way into the view (found once, by OFFSET)."""
    samples = selectors.filtered(run, query)
    count = samples.count()
    position = int(count * fraction)
    row = samples.order_by("-score", "-pk").values_list("score", "pk")[position]
    return selectors._encode(*row), position


def offset_baseline(run: Run, query: selectors.GalleryQuery, position: int, repeats: int) -> float:
    """Median ms of the same page by OFFSET (count + page), the Paginator way."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        samples = selectors.filtered(run, query)
        samples.count()
        list(samples.order_by("-score", "-pk")[position: position + selectors.PAGE_SIZE])
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def keyset_orm(run: Run, query: selectors.GalleryQuery, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        selectors.page(run, query)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    setup_test_environment()
    run = build(args.samples)
    client = Client()
    client.force_login(run.owner)
    url = f"/runs/{run.pk}/gallery/"
    client.get(url, {"tab": "all"})  # warm up: session, template cache

    print(f"\n{'view':44s} {'median ms':>10s} {'queries':>8s} {'shown':>6s}")
    results = {}
    views = (
        ("all samples", {"tab": "all"}),
        ("filter: score >= 0.5, class = cat", {"tab": "all", "score_min": "0.5", "class": "cat"}),
    )
    for label, filters in views:
        query = selectors.GalleryQuery.from_params(filters, run)
        cursor, position = deep_cursor(run, query, 0.9)
        for where, params in (("first page", filters), (f"90% deep (row {position:,})", {**filters, "after": cursor})):
            ms, queries, shown = measure(client, url, params, args.repeats)
            results[(label, where)] = (ms, queries)
            print(f"{label + ', ' + where:44s} {ms:10.1f} {queries:8d} {shown:6d}")
        deep_query = selectors.GalleryQuery.from_params({**filters, "after": cursor}, run)
        keyset = keyset_orm(run, deep_query, args.repeats)
        offset = offset_baseline(run, query, position, args.repeats)
        print(f"  {label}, 90% deep, data access only: keyset {keyset:.1f} ms vs OFFSET baseline {offset:.1f} ms "
              f"-> {offset / keyset:.1f}x")

    worst = max(ms for ms, _ in results.values())
    counts = {q for _, q in results.values()}
    print(f"\nworst median {worst:.1f} ms (target < 50 ms): {'met' if worst < 50 else 'NOT met'}; "
          f"queries per page {sorted(counts)} ({'constant' if len(counts) == 1 else 'NOT constant'})")


if __name__ == "__main__":
    main()
