"""Does training help the embeddings? The step-1 recipe on real digits, judged by labels and without.

    .venv/bin/python benchmarks/training_quality.py [--images 600] [--file-size 64] [--seeds 0,1] [--projections]
        [KEY=VALUE ...]

Writes scikit-learn's handwritten digits as ``--file-size`` px grey PNGs, keeps the first
``--images`` through ``relevant_filenames_file``, and runs the pipeline (the code that ships)
three times per seed: with random weights (``enable_training=False``), with the seed's step-1
recipe (``enable_training=True lightly.trainer.max_epochs=20``, every other key default; extra
``KEY=VALUE`` overrides are added to both), and with the trained run's checkpoint (the trained
weights' own embeddings, whatever the trained run embedded with). For each it prints the 5-NN
accuracy (5-fold cross-validated, on ``data/normalized_embeddings.csv``; the digits' labels are
used for this score only) and the effective rank of the embeddings; for the trained run also its
label-free quality check from report.json and which weights it embedded with.

``--projections`` instead trains in this process (``train_simclr``, as a run does) and compares
three embeddings of the same images: random weights with their fitted projection, the trained
weights with the projection training learned, and with the projection refitted after training
(what runs use): 5-NN accuracy and effective rank of each.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from selection_engine import pipeline
from selection_engine.config import resolve
from selection_engine.embedding.quality import effective_rank
from selection_engine.formats.embeddings import normalize
from selection_engine.synthetic import write_digits

RECIPE = ["enable_training=True", "lightly.trainer.max_epochs=20"]


def knn_accuracy(run_dir: Path, labels: dict[str, int]) -> tuple[float, float]:
    """(5-NN accuracy, effective rank) of a run's normalized embeddings."""
    frame = pd.read_csv(run_dir / "data/normalized_embeddings.csv")
    vectors = frame[[c for c in frame.columns if c.startswith("embedding_")]].to_numpy(np.float32)
    return score(vectors, np.array([labels[name] for name in frame["filenames"]]))


def score(vectors: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(5-fold cross-validated 5-NN accuracy, effective rank) of embeddings (N, D), normalised first."""
    vectors = normalize(vectors)
    return float(cross_val_score(KNeighborsClassifier(n_neighbors=5), vectors, y, cv=5).mean()), effective_rank(vectors)


def projections(root: Path, names: list[str], labels: dict[str, int], overrides: list[str], seed: int) -> None:
    """Random weights vs trained with the learned projection vs trained with the refitted one."""
    import copy

    import torch

    from selection_engine.embedding import build_model
    from selection_engine.embedding.stage import compute_embeddings
    from selection_engine.embedding.training import train_simclr
    from selection_engine.progress import Reporter
    from selection_engine.sources import LocalSource

    config = resolve(overrides=["stopping_condition.n_samples=10", f"seed={seed}", *RECIPE, *overrides])
    source, device, quiet = LocalSource(root), torch.device("cpu"), Reporter(show_bars=False, stream=io.StringIO())
    y = np.array([labels[name] for name in names])
    model = build_model(config.lightly.model, seed=seed)
    random = score(compute_embeddings(copy.deepcopy(model), config, source, names, device, quiet)[0], y)
    began = time.perf_counter()
    losses = train_simclr(model, source, names, config.lightly, device, quiet, seed).losses
    seconds = time.perf_counter() - began
    model.projection_learned = True
    learned = score(compute_embeddings(model, config, source, names, device, quiet)[0], y)
    model.projection_learned = False
    refitted = score(compute_embeddings(model, config, source, names, device, quiet, trained=True)[0], y)
    print(f"seed {seed}: 5-NN (effective rank) random weights {random[0]:.3f} ({random[1]:.1f}), trained with the "
          f"learned projection {learned[0]:.3f} ({learned[1]:.1f}), with the refitted projection {refitted[0]:.3f} "
          f"({refitted[1]:.1f}); loss {losses[0]:.3f} -> {losses[-1]:.3f}; training {seconds:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--file-size", type=int, default=64)
    parser.add_argument("--seeds", default="0", help="comma-separated, e.g. 0,1,2")
    parser.add_argument("--projections", action="store_true", help="compare the learned and the refitted projection")
    parser.add_argument("overrides", nargs="*", help="extra KEY=VALUE for every run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        names, targets = write_digits(root / "digits", args.file_size)
        kept = names[: args.images]
        (root / "relevant.txt").write_text("\n".join(kept) + "\n")
        labels = dict(zip(names, (int(t) for t in targets)))
        common = [f"input_dir={root / 'digits'}", f"output_dir={root / 'out'}", f"shared_dir={root}",
                  "relevant_filenames_file=relevant.txt", "stopping_condition.n_samples=10", *args.overrides]
        print(f"{len(kept)} digits written at {args.file_size} px; recipe {' '.join(RECIPE)} {' '.join(args.overrides)}")
        for seed in (int(s) for s in args.seeds.split(",")):
            if args.projections:
                projections(root / "digits", kept, labels, args.overrides, seed)
                continue

            def run(name: str, *keys: str, seed: int = seed) -> tuple[Path, float]:
                began = time.perf_counter()
                config = resolve(overrides=[*common, f"seed={seed}", f"run_directory={name}-{seed}", *keys])
                result = pipeline.run(config, show_bars=False, stream=io.StringIO())
                return result.run_dir, time.perf_counter() - began

            random_dir, _ = run("random")
            trained_dir, seconds = run("trained", *RECIPE)
            checkpoint = trained_dir / "checkpoints/last.ckpt"
            weights_dir, _ = run("checkpoint", f"checkpoint={checkpoint}")
            quality = json.loads((trained_dir / "report.json").read_text())["job"]["training"]["quality"]
            (random_knn, random_rank), (run_knn, run_rank), (trained_knn, trained_rank) = (
                knn_accuracy(d, labels) for d in (random_dir, trained_dir, weights_dir))
            print(f"seed {seed}: 5-NN random weights {random_knn:.3f} (effective rank {random_rank:.1f}), "
                  f"trained weights {trained_knn:.3f} ({trained_rank:.1f}), the trained run's embeddings "
                  f"{run_knn:.3f} ({run_rank:.1f}, {quality['embedded_with']}); its check: {quality['starting_weights']} -> "
                  f"{quality['trained']} ({quality['verdict']}); trained run {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
