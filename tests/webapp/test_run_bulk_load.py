"""Completing a run loads its samples through the database's bulk path (COPY on PostgreSQL,
batched executemany on SQLite) and stores exactly what the ORM's bulk_create stored.

Runs on the suite's database (SQLite); tests/integration/test_bulk_load_on_postgresql.py runs
this module again on PostgreSQL.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from django.db import DataError, IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from webapp import bulk
from webapp.datasets.models import Dataset, Tag, TagItem
from webapp.runs import results
from webapp.runs.models import Run, RunSample
from webapp.runs.services import complete_run

TASK = "t"
PRIMARY = f"{TASK}/uncertainty_margin"

#: File names a filesystem allows and CSV, COPY's text format and JSON each must escape.
AWKWARD = [
    "cats/plain.png",
    "ünïcødé/猫 ✓ 🐱.png",
    "quotes/\"double\" and 'single'.png",
    "tab\there.png",
    "new\nline.png",
    "nbsp\u00a0and\u2028line separator.png",
    "back\\slash\\N.png",  # \N is COPY's NULL in text format
    "comma, semicolon; pipe|.png",
    "json/{\"k\": [1, 2]}.png",
    "percent %s %(x)s.png",  # the placeholders of a DB-API query
    "trailing space .png",
    "no-embedding.png",
]
#: Metadata text values of the same kind.
NOTES = ["", "unicode ✓ 猫", 'say "hi"', "a\tb", "line\nbreak", "back\\slash \\N", "{\"json\": true}", "NULL",
         "null", "-", "'", "x" * 300]


def write_run_dir(run_dir, names=AWKWARD):
    """The files a finished run leaves for the gallery (as the engine writes them, with pandas):
    three selected samples, the rest removed; gaps where a real run has them."""
    n = len(names)
    data = run_dir / "data"
    data.mkdir(parents=True)
    rng = np.random.default_rng(3)
    margin = rng.random(n).round(6)
    margin[5] = np.nan  # no primary score: NO_SCORE
    least = rng.random(n).round(6)
    least[2] = np.inf  # not JSON: stored as null
    pd.DataFrame({"filenames": names, f"{TASK}/uncertainty_least_confidence": least, PRIMARY: margin}).to_csv(
        data / "scores.csv", index=False, float_format="%.6g")
    classes = ["a;b", "", "3", "a", "b;3", "a", "", "b", "a;b;3", "a", "b", "3"][:n]
    pd.DataFrame({"filenames": names, TASK: classes}).to_csv(data / "classes.csv", index=False)
    width = pd.array([640, None, 32, 48, 640, 1, 2, 3, 4, 5, 6, 7][:n], dtype="Int64")  # a gap: floats
    metadata = pd.DataFrame({
        "filenames": names, "note": NOTES[:n], "lightly.width": width, "lightly.height": [480] * n,
        "flag": [i % 2 == 0 for i in range(n)], "lightly.sharpness": rng.random(n) * 1e4,
    })
    metadata.drop(index=3).to_csv(data / "metadata.csv", index=False)  # one sample without metadata
    embedded = [name for name in names if name != "no-embedding.png"]
    frame = pd.DataFrame(rng.normal(size=(len(embedded), 4)).astype(np.float32),
                         columns=[f"embedding_{d}" for d in range(4)])
    frame.insert(0, "filenames", embedded)
    frame.to_csv(data / "normalized_embeddings.csv", index=False, float_format="%.8g")
    picks = [1, 4, 7]
    pd.DataFrame({
        "filenames": [names[i] for i in picks], "rank": [1, 2, 3],
        PRIMARY: margin[picks], "contribution/DIVERSITY": [1.0, 0.5, 0.25],
        "distance_to_nearest_earlier_pick": [np.nan, 0.3, 0.2],
        "reason": ["first pick: DIVERSITY 1.000 ✓", 'DIVERSITY 0.500 "quoted"\tand tab', "r" * 600],
    }).to_csv(data / "selected_samples.csv", index=False, float_format="%.6g")
    rest = [i for i in range(n) if i not in picks]
    pd.DataFrame({
        "filenames": [names[i] for i in rest], "reason": ["not selected"] * (len(rest) - 1) + ["corrupt: can't\nread"],
        "nearest_selected": [names[picks[i % 3]] if i % 4 else "" for i in rest],
        "distance": [0.1 * i if i % 5 else np.nan for i in rest],
    }).to_csv(run_dir / "removed_samples.csv", index=False, float_format="%.6g")
    return run_dir


@pytest.fixture
def dataset(alice, root):
    return Dataset.objects.create(owner=alice, name="awkward", path=str(root))


def new_run(dataset) -> Run:
    return Run.objects.create(owner=dataset.owner, dataset=dataset, state=Run.RUNNING, primary_score=PRIMARY)


def stored(run: Run) -> list[tuple]:
    """Every column of the run's samples as the database returns them, in insertion order."""
    columns = [f.column for f in RunSample._meta.concrete_fields if f.column not in ("id", "run_id")]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM runs_runsample WHERE run_id = %s ORDER BY id", [run.pk])
        return cursor.fetchall()


def orm_path(run: Run, run_dir) -> None:
    """What complete_run did before the bulk path: model instances through bulk_create."""
    samples = results.load_samples(run, run_dir)
    RunSample.objects.bulk_create(samples, batch_size=2000)
    tag = Tag.objects.create(dataset=run.dataset, name=f"orm-{run.pk}", run=run,
                             size=sum(s.selected for s in samples))
    TagItem.objects.bulk_create([TagItem(tag=tag, filename=s.filename) for s in samples if s.selected], batch_size=5000)
    Run.objects.filter(pk=run.pk).update(facts=results.metadata_facts(samples))


def test_the_bulk_path_stores_exactly_what_the_orm_stored(dataset, tmp_path):
    run_dir = write_run_dir(tmp_path / "run")
    by_orm, by_bulk = new_run(dataset), new_run(dataset)
    orm_path(by_orm, run_dir)
    complete_run(by_bulk, run_dir=run_dir, n_selected=3)

    assert stored(by_bulk) == stored(by_orm)  # every column, as the database has it
    fields = [f.attname for f in RunSample._meta.concrete_fields if f.attname not in ("id", "run_id")]
    orm_rows = list(by_orm.samples.order_by("id").values_list(*fields))
    bulk_rows = list(by_bulk.samples.order_by("id").values_list(*fields))
    assert bulk_rows == orm_rows and len(bulk_rows) == len(AWKWARD)
    # dicts compare without order; as the ORM reads them back, the keys' order is the same too
    assert [(list(r[fields.index("scores")]), list(r[fields.index("metadata")])) for r in bulk_rows] == [
        (list(r[fields.index("scores")]), list(r[fields.index("metadata")])) for r in orm_rows]

    by_bulk.refresh_from_db()
    by_orm.refresh_from_db()
    assert (by_bulk.state, by_bulk.n_selected, by_bulk.stage) == (Run.COMPLETED, 3, "done")
    assert by_bulk.facts == by_orm.facts == {
        "metadata_keys": ["flag", "lightly.height", "lightly.sharpness", "lightly.width", "note"],
        "numeric_metadata": ["lightly.height", "lightly.sharpness", "lightly.width"],
    }
    tag = Tag.objects.get(dataset=dataset, name=f"run-{by_bulk.pk}-selected")
    orm_tag = Tag.objects.get(dataset=dataset, name=f"orm-{by_orm.pk}")
    assert tag.size == orm_tag.size == 3
    assert list(tag.items.order_by("id").values_list("filename", flat=True)) == list(
        orm_tag.items.order_by("id").values_list("filename", flat=True)) == [AWKWARD[1], AWKWARD[4], AWKWARD[7]]


def test_awkward_values_read_back_as_the_run_wrote_them(dataset, tmp_path):
    run = new_run(dataset)
    complete_run(run, run_dir=write_run_dir(tmp_path / "run"), n_selected=3)
    samples = {s.filename: s for s in run.samples.all()}
    assert sorted(samples) == sorted(AWKWARD)
    for i, name in enumerate(AWKWARD):
        if i != 3 and NOTES[i] not in ("", "NULL", "null"):  # 3 has no metadata; pandas reads those as gaps
            assert samples[name].metadata["note"] == NOTES[i], name
        elif i != 3:
            assert "note" not in samples[name].metadata, name
    tab = samples["tab\there.png"]
    assert tab.metadata == {} and tab.classes == "|a|"  # no metadata row; its classes still there
    assert samples[AWKWARD[5]].metadata["note"] == "back\\slash \\N"  # COPY's escape and its NULL, as text
    slash = samples["back\\slash\\N.png"]
    assert slash.metadata["lightly.width"] == 2.0 and slash.metadata["flag"] is True
    assert samples[AWKWARD[7]].metadata["flag"] is False
    first = samples[AWKWARD[1]]
    assert (first.selected, first.rank, first.reason) == (True, 1, "first pick: DIVERSITY 1.000 ✓")
    assert first.scores["distance_to_nearest_earlier_pick"] is None  # NaN in a selected row: null
    assert samples[AWKWARD[4]].reason == 'DIVERSITY 0.500 "quoted"\tand tab'
    assert samples[AWKWARD[7]].reason == "r" * 500  # cut to the column's length
    assert samples[AWKWARD[2]].scores[f"{TASK}/uncertainty_least_confidence"] is None  # inf: null
    assert samples[AWKWARD[5]].score == RunSample.NO_SCORE and PRIMARY not in samples[AWKWARD[5]].scores
    removed = [s for s in samples.values() if not s.selected]
    assert all(s.rank is None for s in removed)  # NULL ranks
    assert samples["no-embedding.png"].row == -1 and samples["no-embedding.png"].x is None
    assert all(isinstance(s.x, float) and math.isfinite(s.x) for s in samples.values() if s.row >= 0)
    assert samples["nbsp\u00a0and\u2028line separator.png"].reason == "not selected"
    assert samples["no-embedding.png"].reason == "corrupt: can't\nread"
    assert samples[AWKWARD[8]].classes == "|a|b|3|" and samples[AWKWARD[1]].classes == ""


def test_rows_come_in_chunks_without_changing_a_value(dataset, tmp_path):
    run_dir = write_run_dir(tmp_path / "run")
    run = new_run(dataset)
    whole = list(results.SampleRows(run, run_dir))
    chunked = results.SampleRows(run, run_dir, chunk_size=2)
    rows = list(chunked)
    assert rows == whole
    assert [(list(r.scores), list(r.metadata)) for r in rows] == [(list(r.scores), list(r.metadata)) for r in whole]
    assert chunked.selected == [AWKWARD[1], AWKWARD[4], AWKWARD[7]]


def test_one_statement_per_batch_and_none_per_row(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH_SIZE", 5)
    run = new_run(dataset)
    with CaptureQueriesContext(connection) as queries:
        complete_run(run, run_dir=write_run_dir(tmp_path / "run"), n_selected=3)
    inserts = [q["sql"] for q in queries if 'INSERT INTO "runs_runsample"' in q["sql"]]
    if connection.vendor == "postgresql":
        assert inserts == []  # COPY: not logged as a query, and no INSERT at all
    else:
        assert len(inserts) == 3  # 12 rows in batches of 5
    assert run.samples.count() == len(AWKWARD)


def failing_after(monkeypatch, position: int) -> None:
    """Make the run's row at ``position`` one the database refuses (no file name: NOT NULL)."""
    rows = results.SampleRows.__iter__

    def with_a_bad_row(self):
        for i, row in enumerate(rows(self)):
            yield row._replace(filename=None) if i == position else row

    monkeypatch.setattr(results.SampleRows, "__iter__", with_a_bad_row)


def test_a_row_the_database_refuses_leaves_no_samples_and_the_run_running(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH_SIZE", 5)  # two batches are in before the bad row
    failing_after(monkeypatch, 10)
    run = new_run(dataset)
    with pytest.raises(IntegrityError):
        complete_run(run, run_dir=write_run_dir(tmp_path / "run"), n_selected=3)
    run.refresh_from_db()
    assert run.state == Run.RUNNING and run.n_selected is None and run.facts == {}
    assert RunSample.objects.filter(run=run).count() == 0
    assert not Tag.objects.filter(dataset=dataset, name=f"run-{run.pk}-selected").exists()
    assert not TagItem.objects.exists()


def test_a_file_name_too_long_for_postgresql_leaves_nothing(dataset, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL enforces the column's 1000 characters (SQLite stores any length)")
    run = new_run(dataset)
    with pytest.raises(DataError):
        complete_run(run, run_dir=write_run_dir(tmp_path / "run", names=[*AWKWARD[:-1], "x" * 1001 + ".png"]),
                     n_selected=3)
    run.refresh_from_db()
    assert run.state == Run.RUNNING and RunSample.objects.filter(run=run).count() == 0


def test_insert_names_every_field_or_says_which(dataset):
    with pytest.raises(ValueError, match=r"fields must be \['tag_id', 'filename'\]"):
        bulk.insert(TagItem, ("filename",), [("a.png",)])
    tag = Tag.objects.create(dataset=dataset, name="t")
    with pytest.raises(ValueError, match="a row of 1 values for 2 fields"):
        bulk.insert(TagItem, ("tag", "filename"), [("a.png",)])
    assert bulk.insert(TagItem, ("filename", "tag"), (("b\t\\N.png", tag.pk), ("c.png", tag.pk))) == 2
    assert list(tag.items.order_by("id").values_list("filename", flat=True)) == ["b\t\\N.png", "c.png"]


def test_values_of_other_types_are_converted_as_the_orm_converts_them(dataset):
    """numpy scalars, an int for a float, 1 for True, a str of digits for an int: what
    bulk_create makes of each, bulk.insert makes of it too."""
    values = dict(filename="a.png", selected=np.bool_(True), rank=np.int64(3), score=np.float32(0.5),
                  scores={"a": 1, "b": [1.5, None], "c": "ü\t\\"}, reason="", classes="", metadata={},
                  row="7", x=1, y=None)
    by_orm, by_bulk = new_run(dataset), new_run(dataset)
    RunSample.objects.bulk_create([RunSample(run=by_orm, **values)])
    bulk.insert(RunSample, ("run", *values), [(by_bulk.pk, *values.values())])
    assert stored(by_bulk) == stored(by_orm)
    assert by_bulk.samples.values_list("selected", "rank", "score", "row", "x").get() == (True, 3, 0.5, 7, 1.0)
