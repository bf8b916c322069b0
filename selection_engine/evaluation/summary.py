"""What a simulated labeling loop says: accuracy per round, paired differences against random,
and the method (and embeddings) to use."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

BASELINE = "random"


def per_round(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds: index (embeddings, method, labeled), columns mean, std."""
    keys = ["embeddings", "method", "labeled"]
    return frame.groupby(keys, sort=False)["accuracy"].agg(["mean", "std"]).fillna(0.0)


def paired_differences(frame: pd.DataFrame) -> pd.DataFrame:
    """Per embeddings, method and round after the initial one: accuracy minus random's on the
    same seed (same initial set and test split), averaged over seeds."""
    later = frame[frame["round"] > 0]
    base = later[later["method"] == BASELINE].set_index(["embeddings", "seed", "round"])["accuracy"]
    joined = later.join(base.rename("baseline"), on=["embeddings", "seed", "round"])
    joined["difference"] = joined["accuracy"] - joined["baseline"]
    return joined.groupby(["embeddings", "method", "labeled"], sort=False)["difference"].mean().reset_index()


def method_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per embeddings and method: mean accuracy over the rounds after the initial set,
    the smallest and mean paired difference against random, and in how many rounds it is ahead."""
    later = frame[frame["round"] > 0]
    accuracy = later.groupby(["embeddings", "method"], sort=False)["accuracy"].mean().rename("mean_accuracy")
    differences = paired_differences(frame).groupby(["embeddings", "method"], sort=False)["difference"]
    table = pd.concat(
        [accuracy, differences.mean().rename("mean_vs_random"), differences.min().rename("worst_round_vs_random"),
         differences.apply(lambda d: int((d > 0).sum())).rename("rounds_ahead"),
         differences.size().rename("rounds")],
        axis=1,
    ).reset_index()
    return table


def recommendation(table: pd.DataFrame) -> dict[str, Any]:
    """The best embeddings and method, and a sentence saying why (or that nothing beats random).

    A method qualifies when it is ahead of random in every round; among those the highest mean
    accuracy wins. Embeddings are ranked by their best method's mean accuracy.
    """
    ranked = table.sort_values("mean_accuracy", ascending=False)
    qualified = ranked[(ranked["method"] != BASELINE) & (ranked["rounds_ahead"] == ranked["rounds"])]
    if qualified.empty:
        best = ranked.iloc[0]
        return {
            "embeddings": best["embeddings"],
            "method": BASELINE,
            "text": "No method beat random labeling in every round on this data: label at random, or try other "
                    f"embeddings (best mean accuracy: {best['method']} on {best['embeddings']}, {best['mean_accuracy']:.3f}).",
        }
    best = qualified.iloc[0]
    return {
        "embeddings": best["embeddings"],
        "method": best["method"],
        "text": f"Use {best['method']} on the {best['embeddings']} embeddings: ahead of random labeling in every round "
                f"(by {best['mean_vs_random']:+.3f} accuracy on average, {best['worst_round_vs_random']:+.3f} in its "
                f"worst round), mean accuracy {best['mean_accuracy']:.3f}.",
    }


def plot(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Accuracy vs number of labels, one line per method with a ±1 std band, one panel per embeddings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = per_round(frame).reset_index()
    sources = list(dict.fromkeys(stats["embeddings"]))
    fig, axes = plt.subplots(1, len(sources), figsize=(5.5 * len(sources), 4), squeeze=False, sharey=True)
    for ax, source in zip(axes[0], sources):
        for method, group in stats[stats["embeddings"] == source].groupby("method", sort=False):
            style = {"color": "0.4", "linestyle": "--"} if method == BASELINE else {}
            line = ax.plot(group["labeled"], group["mean"], marker="o", markersize=3, label=method, **style)[0]
            ax.fill_between(group["labeled"], group["mean"] - group["std"], group["mean"] + group["std"],
                            color=line.get_color(), alpha=0.12)
        ax.set_title(f"embeddings: {source}")
        ax.set_xlabel("labeled samples")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy")
    axes[0][-1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def text_table(table: pd.DataFrame) -> str:
    """The method table as aligned text, for the terminal."""
    lines = [f"{'embeddings':<22} {'method':<18} {'accuracy':>8} {'vs random':>10} {'worst round':>11} {'rounds ahead':>12}"]
    for row in table.itertuples():
        ahead = f"{row.rounds_ahead}/{row.rounds}"
        lines.append(f"{str(row.embeddings)[:22]:<22} {str(row.method)[:18]:<18} {row.mean_accuracy:>8.3f} "
                     f"{row.mean_vs_random:>+10.3f} {row.worst_round_vs_random:>+11.3f} {ahead:>12}")
    return "\n".join(lines)
