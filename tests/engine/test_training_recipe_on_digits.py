"""Real-data check of the seed's step-1 recipe: training with the default keys must not leave a run
with embeddings worse for 5-NN label lookup than random weights, and the label-free check must
agree with the labels about what training did.

The recipe is ``enable_training=True lightly.trainer.max_epochs=20`` with every other key default;
here on 300 of scikit-learn's digits at input size 32 so it runs in about a minute on two cores
(``benchmarks/training_quality.py`` runs the full size: 600 digits at the default input size 64),
and with the images loaded in the test's process (``lightly.loader.num_workers=0``): loader
workers run at the lowest priority, and on a machine busy with other work they starve (ten
minutes instead of one).
Those defaults make these small grey digits worse (mirror images, crops of 15 %, strong blur), the
check sees it, and the run selects with the random weights' embeddings. Quality is the 5-fold
cross-validated accuracy of a 5-NN classifier on ``data/normalized_embeddings.csv``; the labels
are used for scoring only.
"""

import io
import json

import numpy as np
import pandas as pd
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.synthetic import write_digits

IMAGES = 300


def knn_accuracy(run_dir, labels):
    frame = pd.read_csv(run_dir / "data/normalized_embeddings.csv")
    vectors = frame[[c for c in frame.columns if c.startswith("embedding_")]].to_numpy(np.float32)
    return cross_val_score(KNeighborsClassifier(n_neighbors=5), vectors, [labels[n] for n in frame["filenames"]], cv=5).mean()


def test_the_step_1_recipe_does_not_make_digit_embeddings_worse(tmp_path):
    names, targets = write_digits(tmp_path / "digits", size=32)
    (tmp_path / "relevant.txt").write_text("\n".join(names[:IMAGES]) + "\n")
    labels = dict(zip(names, targets))

    def run(name, *keys):
        config = resolve(overrides=[
            f"input_dir={tmp_path / 'digits'}", f"output_dir={tmp_path / 'out'}", f"shared_dir={tmp_path}",
            "relevant_filenames_file=relevant.txt", "stopping_condition.n_samples=10", f"run_directory={name}",
            "lightly.collate.input_size=32", "lightly.loader.num_workers=0", *keys,
        ])
        return pipeline.run(config, show_bars=False, stream=io.StringIO()).run_dir

    random_dir = run("random")
    trained_dir = run("trained", "enable_training=True", "lightly.trainer.max_epochs=20")
    weights_dir = run("weights", f"checkpoint={trained_dir / 'checkpoints/last.ckpt'}")  # the trained weights' own embeddings
    check = json.loads((trained_dir / "report.json").read_text())["job"]["training"]["quality"]
    random_knn, run_knn, trained_knn = (knn_accuracy(d, labels) for d in (random_dir, trained_dir, weights_dir))

    message = f"5-NN random {random_knn:.3f}, trained weights {trained_knn:.3f}, the run {run_knn:.3f}; check {check}"
    print(message)  # shown with pytest -rP
    assert run_knn >= random_knn - 0.005, message
    assert (check["verdict"] == "worse") == (trained_knn < random_knn), message  # the check agrees with the labels
