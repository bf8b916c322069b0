"""A datapool whose earlier picks are partly gone from the input (images deleted since): the gone
picks still count for diversity (their stored embeddings), but they are not samples of this run:
never selected or listed again, never named as any sample's nearest selected sample."""

import io
import json

import numpy as np
import pandas as pd

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.formats.embeddings import EmbeddingTable
from selection_engine.progress import Reporter
from selection_engine.stages.datapool import Datapool
from selection_engine.stages.pick import earlier_picks
from tests.factories import image_folder, write_embeddings_csv, write_image


def run(tmp_path, *args):
    log = io.StringIO()
    config = resolve(overrides=[f"output_dir={tmp_path / 'out'}", *args])
    return pipeline.run(config, show_bars=False, stream=log), log.getvalue()


def normalized(run_dir) -> pd.DataFrame:
    table = pd.read_csv(run_dir / "data/normalized_embeddings.csv").set_index("filenames")
    return table[[c for c in table.columns if c.startswith("embedding_")]]


def test_picks_gone_from_the_input_count_for_diversity_but_are_not_selected(tmp_path):
    root, shared = tmp_path / "input", tmp_path / "shared"
    names = image_folder(root, n=20)
    rng = np.random.default_rng(8)
    embeddings = rng.standard_normal((30, 6))
    write_embeddings_csv(shared / "first.csv", names, embeddings[:20])
    args = [f"input_dir={root}", f"shared_dir={shared}", "datapool.name=pool"]
    first, _ = run(tmp_path, *args, "embeddings=first.csv", "stopping_condition.n_samples=5", "run_directory=first")
    earlier = normalized(first.run_dir).loc[first.selected]

    gone = first.selected[:2]  # two picks of the first run are deleted; ten new images arrive
    for name in gone:
        (root / name).unlink()
    kept = [n for n in names if n not in gone]
    more = [f"new/{i:03d}.png" for i in range(10)]
    for i, name in enumerate(more):
        write_image(root / name, seed=200 + i)
    now = kept + more
    write_embeddings_csv(shared / "second.csv", now, np.concatenate([embeddings[[names.index(n) for n in kept]], embeddings[20:]]))
    second, log = run(tmp_path, *args, "embeddings=second.csv", "stopping_condition.n_samples=4", "run_directory=second")

    assert "Datapool pool: 5 samples selected earlier, 18 of the 28 samples seen before, 10 new candidates." in log
    # only new images are picked, exactly as many as asked, and nothing gone is listed as selected
    assert len(second.selected) == 4 and set(second.selected) <= set(more)
    assert (second.run_dir / "filenames/sampled_filenames.txt").read_text().split() == second.selected
    assert pd.read_csv(second.run_dir / "data/selected_samples.csv")["filenames"].tolist() == second.selected
    assert json.loads((second.run_dir / "report.json").read_text())["job"]["selected"] == 4
    removed = pd.read_csv(second.run_dir / "removed_samples.csv", keep_default_na=False).set_index("filenames")
    assert sorted(removed.index) == sorted(set(now) - set(second.selected))  # the gone ones are not samples

    # the gone picks still count as selected for diversity: the picks continue k-center from all five
    x = normalized(second.run_dir)
    selected = [earlier.loc[n].to_numpy() for n in first.selected]
    candidates = list(more)
    expected = []
    for _ in range(4):
        d = np.array([min(np.linalg.norm(x.loc[c].to_numpy() - s) for s in selected) for c in candidates])
        best = candidates[int(np.argmax(d))]
        expected.append(best)
        selected.append(x.loc[best].to_numpy())
        candidates.remove(best)
    assert second.selected == expected

    # each removed sample names its nearest selected sample (an earlier pick still here: itself),
    # or, where the nearest is a gone pick, no file of this input, with the distance to it
    points = {**{n: earlier.loc[n].to_numpy() for n in first.selected}, **{n: x.loc[n].to_numpy() for n in second.selected}}
    named_gone = 0
    for name, row in removed.iterrows():
        distances = {pick: float(np.linalg.norm(x.loc[name].to_numpy() - p)) for pick, p in points.items()}
        nearest = min(distances, key=distances.get)
        if nearest in gone:
            assert row["nearest_selected"] == "(an earlier datapool pick not in this input)", (name, row.to_dict())
            named_gone += 1
        else:
            assert row["nearest_selected"] == nearest, (name, row.to_dict(), nearest)
        assert abs(float(row["distance"]) - distances[nearest]) < 1e-4, (name, row.to_dict(), distances[nearest])
    assert named_gone >= 1, "the world should have samples nearest to a gone pick"

    history = json.loads((shared / "datapools/pool/history.json").read_text())
    assert [h["selected"] for h in history] == [first.selected, second.selected]


def test_only_the_gone_picks_are_counted_by_their_stored_embeddings(tmp_path):
    # each earlier pick counts once: by its row when it is in this input, by its stored embedding
    # when it is gone (which also decides how long a COLD_START diversity weighs typicality)
    stored = np.arange(12, dtype=np.float32).reshape(3, 4)
    pool = Datapool("pool", tmp_path, seen={"a.png", "gone.png", "b.png"}, selected=["a.png", "gone.png", "b.png"],
                    embeddings=stored)
    table = EmbeddingTable(["b.png", "c.png", "a.png"], np.ones((3, 4), dtype=np.float32), np.zeros(3, dtype=np.int64))
    earlier = earlier_picks(table, pool, "", str(tmp_path), Reporter(show_bars=False, stream=io.StringIO()))
    assert earlier.candidates.tolist() == [False, True, False]
    assert earlier.preselected.tolist() == [0, 2]
    np.testing.assert_array_equal(earlier.external, stored[[1]])
    assert earlier.n_labeled == 3
