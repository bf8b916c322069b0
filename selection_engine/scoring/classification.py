"""Uncertainty of probability vectors (SPEC §2.2), and of classification tasks per image.

All three scores are 0 for a one-hot vector and 1 for the uniform vector over C classes; higher
means the model is less sure, so the image is more worth labeling.
"""

from __future__ import annotations

import numpy as np

from .reduce import ImageGroups

CLASSIFICATION_SCORE_NAMES = ("uncertainty_least_confidence", "uncertainty_margin", "uncertainty_entropy")

#: Rows are scored in blocks of about this many bytes: the several passes over a block (top two,
#: log, product) then hit the CPU cache instead of main memory, about 3x faster at 1M x 10.
_BLOCK_BYTES = 1 << 20


def fill_missing_probabilities(probabilities: np.ndarray, category_index: np.ndarray) -> np.ndarray:
    """float64 (M, C): rows holding NaN (probabilities not given) become the one-hot vector of
    their ``category_index`` (M,), i.e. a fully confident prediction. Returns the input itself
    when nothing is missing.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    # A NaN anywhere makes the row sum NaN; einsum sums rows several times faster than isnan().any.
    missing = np.isnan(np.einsum("ij->i", p))
    if not missing.any():
        return p
    p = p.copy()
    rows = np.flatnonzero(missing)
    p[rows] = 0.0
    p[rows, np.asarray(category_index)[rows]] = 1.0
    return p


def uncertainty_scores(probabilities: np.ndarray, category_index: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The three uncertainty scores of each probability vector.

    probabilities: float64 (M, C), rows summing to 1. A single column (C = 1) is the probability
    of the positive class of a binary problem, i.e. the vectors [p, 1 - p]. Rows of NaN (not
    given) are scored as the one-hot vector of ``category_index`` (M,), i.e. 0.
    Returns {name: float64 (M,) in [0, 1]} for the names in CLASSIFICATION_SCORE_NAMES.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] == 0:
        raise ValueError(f"probabilities must be 2-D (M, C) with C >= 1, got shape {p.shape}")
    if category_index is None:
        category_index = np.zeros(len(p), dtype=np.int64)
    elif len(category_index) != len(p):
        raise ValueError(f"category_index has {len(category_index)} entries, probabilities {len(p)} rows")
    m, c = len(p), max(p.shape[1], 2)
    out = np.empty((3, m), dtype=np.float64)
    block = max(1, _BLOCK_BYTES // (8 * c))
    # Buffers are reused across blocks: fresh allocations of this size would each be mapped
    # from the OS and page-faulted in again, which costs as much as the arithmetic.
    rows_buffer, work, log_p = (np.empty((min(block, m), c)) for _ in range(3))
    for start in range(0, m, block):
        stop = min(start + block, m)
        rows = fill_missing_probabilities(p[start:stop], category_index[start:stop])
        if p.shape[1] == 1:
            binary = rows_buffer[: stop - start]
            binary[:, 0] = rows[:, 0]
            np.subtract(1.0, rows[:, 0], out=binary[:, 1])
            rows = binary
        _score_block(rows, out[:, start:stop], work[: stop - start], log_p[: stop - start])
    # Probabilities sum to 1 only within 1e-3, which may push a score a hair outside [0, 1].
    np.clip(out, 0.0, 1.0, out=out)
    return dict(zip(CLASSIFICATION_SCORE_NAMES, out))


def _score_block(p: np.ndarray, out: np.ndarray, work: np.ndarray, log_p: np.ndarray) -> None:
    """Least confidence, margin and entropy of p (B, C >= 2) into the rows of out (3, B);
    work and log_p are scratch space of p's shape.
    """
    c = p.shape[1]
    # One partition yields both of the two largest entries; a full sort per row is wasted work.
    work[...] = p
    work.partition(c - 2, axis=1)
    p1, p2 = work[:, c - 1], work[:, c - 2]
    np.multiply(1.0 - p1, c / (c - 1), out=out[0])
    np.subtract(1.0, p1 - p2, out=out[1])
    # 0·log 0 = 0: zero entries contribute nothing instead of nan.
    log_p.fill(0.0)
    np.log(p, out=log_p, where=p > 0)
    np.multiply(np.einsum("ij,ij->i", p, log_p), -1.0 / np.log(c), out=out[2])


def classification_scores(
    probabilities: np.ndarray, category_index: np.ndarray, groups: ImageGroups
) -> dict[str, np.ndarray]:
    """Per-image uncertainty of a classification task.

    probabilities: float64 (P, C), NaN rows where not given (scored as the one-hot vector of
    category_index (P,)); groups: the P predictions' images. An image normally has one
    prediction; with several the most uncertain counts, with none the score is 0.
    Returns {name: float64 (N,) in [0, 1]}.
    """
    per_prediction = uncertainty_scores(probabilities, category_index)
    return {name: groups.max(s) for name, s in per_prediction.items()}
