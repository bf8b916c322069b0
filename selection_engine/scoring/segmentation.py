"""Per-image uncertainty of semantic segmentation (SPEC §2.2): the mean over the image's segments."""

from __future__ import annotations

import numpy as np

from .classification import uncertainty_scores
from .reduce import ImageGroups


def segmentation_scores(
    probabilities: np.ndarray, category_index: np.ndarray, groups: ImageGroups
) -> dict[str, np.ndarray]:
    """The three uncertainty scores of each segment's probability vector, averaged per image.

    probabilities: float64 (P, C), NaN rows where not given (scored as the one-hot vector of
    category_index (P,)). An image without segments scores 0.
    Returns {name: float64 (N,) in [0, 1]}.
    """
    per_segment = uncertainty_scores(probabilities, category_index)
    return {name: groups.mean(s) for name, s in per_segment.items()}
