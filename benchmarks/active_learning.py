"""Selection quality the way the field measures it: accuracy of a model trained on the picks vs
on random picks, per round, over seeds, on real data — and against published strategies.

    .venv/bin/python benchmarks/active_learning.py [--seeds 5] [--input-size 64] [--no-peers]

scikit-learn's 1,797 handwritten digits, written as PNG files and embedded two ways:

* **random weights**: the engine's default path (``winnow evaluate``'s own code: ResNet-18 with
  random weights, projection fitted to the images, unit length), what a new user gets;
* **pixels PCA**: PCA of the 64 pixels to 32 dimensions, unit length.

Two protocols (30 initial labels + 8 rounds of 30, "warm"; 10 + 6 rounds of 10, "cold"), a
logistic regression on the standardised embeddings after each round, test accuracy on a held-out
30%. Winnow's methods run through ``selection_engine.evaluation`` (the engine's own selection);
the peers are scikit-activeml's TypiClust, ProbCover, Badge, Clue and Falcun with their defaults
and the same classifier (``pip install scikit-activeml``; without it only Winnow's methods run).
Prints each table and whether Winnow's best method matches every peer and beats random in every
round.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from selection_engine.config import resolve
from selection_engine.evaluation.command import EvaluationConfig, load_embeddings, selectors
from selection_engine.evaluation.loop import Protocol, RoundState, simulate
from selection_engine.evaluation.summary import method_table, paired_differences
from selection_engine.formats.embeddings import normalize
from selection_engine.progress import Reporter
from selection_engine.sources import LocalSource
from selection_engine.synthetic import write_digits

PROTOCOLS = {"warm": (30, 8, 30), "cold": (10, 6, 10)}
WINNOW = ("coreset", "coral", "cold-start")


def peer_selectors() -> dict:
    """scikit-activeml's strategies as selectors, or {} when the package is missing."""
    try:
        from skactiveml.classifier import SklearnClassifier
        from skactiveml.pool import Badge, Clue, Falcun, ProbCover, TypiClust
    except ImportError:
        print("scikit-activeml is not installed: peers skipped (pip install scikit-activeml)")
        return {}
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def peer(cls, with_model: bool, **options):
        def choose(state: RoundState) -> np.ndarray:
            y = np.full(len(state.embeddings), np.nan)
            y[state.labeled] = state.labels[state.labeled]
            strategy = cls(random_state=int(state.rng.integers(1 << 30)), **options)
            if not with_model:
                return strategy.query(state.embeddings, y, batch_size=state.k)
            model = SklearnClassifier(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
                                      classes=np.arange(state.n_classes), random_state=0)
            key = "estimator" if cls is Clue else "clf"
            return strategy.query(state.embeddings, y, batch_size=state.k, **{key: model})

        return choose

    return {"TypiClust": peer(TypiClust, False), "ProbCover": peer(ProbCover, False, n_classes=10),
            "Badge": peer(Badge, True), "Clue": peer(Clue, True), "Falcun": peer(Falcun, True)}


def embeddings(input_size: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    digits = load_digits()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "digits"
        names, labels = write_digits(root, size=input_size)
        config = resolve(overrides=[f"input_dir={root}", f"output_dir={tmp}", f"lightly.collate.input_size={input_size}",
                                    "stopping_condition.n_samples=1"])
        with open("/dev/null", "w") as devnull:
            quiet = Reporter(show_bars=False, stream=devnull)
            _, engine = load_embeddings("random", config, LocalSource(str(root)), names, quiet)
    pixels = normalize(PCA(32, random_state=0).fit_transform(digits.data).astype(np.float32))
    return {"random weights": engine, "pixels PCA": pixels}, labels


def verdict(table: pd.DataFrame, differences: pd.DataFrame, peers: list[str]) -> str:
    ours = table[table["method"].isin(WINNOW)].sort_values("mean_accuracy", ascending=False).iloc[0]
    best_peer = table[table["method"].isin(peers)].sort_values("mean_accuracy", ascending=False)
    rounds = differences[differences["method"] == ours["method"]]["difference"]
    text = (f"Winnow's best: {ours['method']} {ours['mean_accuracy']:.3f}, ahead of random in "
            f"{int((rounds > 0).sum())}/{len(rounds)} rounds (worst {rounds.min():+.3f})")
    if len(best_peer):
        top = best_peer.iloc[0]
        text += (f"; best peer {top['method']} {top['mean_accuracy']:.3f} -> "
                 f"{'matched' if ours['mean_accuracy'] >= top['mean_accuracy'] else 'NOT matched'}")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    sources, labels = embeddings(args.input_size)
    peers = {} if args.no_peers else peer_selectors()
    config = resolve(overrides=["stopping_condition.n_samples=1"])
    ours = selectors(config, EvaluationConfig())
    for protocol_name, (initial, rounds, per_round) in PROTOCOLS.items():
        protocol = Protocol(initial=initial, rounds=rounds, per_round=per_round, seeds=args.seeds)
        for source, vectors in sources.items():
            began = time.perf_counter()
            frame = simulate(vectors, labels, {**ours, **peers}, protocol).assign(embeddings=source)
            table = method_table(frame)
            differences = paired_differences(frame)
            means = frame[frame["round"] > 0].groupby(["method", "labeled"], sort=False)["accuracy"].mean().unstack()
            print(f"\n### {protocol_name}: {initial} initial + {rounds} rounds of {per_round}, {source} embeddings, "
                  f"{args.seeds} seeds ({time.perf_counter() - began:.0f} s)")
            columns = " | ".join(str(c) for c in means.columns)
            print(f"| method | mean accuracy | vs random (mean / worst round) | {columns} |")
            print("|---|---|---|" + "---|" * len(means.columns))
            for row in table.itertuples():
                per = " | ".join(f"{v:.3f}" for v in means.loc[row.method])
                versus = f"{row.mean_vs_random:+.3f} / {row.worst_round_vs_random:+.3f}"
                print(f"| {row.method} | {row.mean_accuracy:.3f} | {versus} | {per} |")
            print(verdict(table, differences, list(peers)))


if __name__ == "__main__":
    main()
