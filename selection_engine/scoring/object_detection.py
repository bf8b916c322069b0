"""Per-image scores of object detections (SPEC §2.2): objectness, object frequency, and the
uncertainty of the boxes' class probabilities.
"""

from __future__ import annotations

import numpy as np

from .classification import classification_scores
from .reduce import ImageGroups


def objectness_least_confidence(score: np.ndarray, groups: ImageGroups) -> np.ndarray:
    """float64 (N,) in [0, 1]: 1 − mean box score of each image, 0 for an image without boxes.

    score: float64 (P,) box confidences in [0, 1]; NaN (not given) counts as a confident 1.0.
    """
    confidence = np.nan_to_num(np.asarray(score, dtype=np.float64), nan=1.0)
    return np.clip(1.0 - groups.mean(confidence, empty=1.0), 0.0, 1.0)


def object_counts(category_index: np.ndarray, groups: ImageGroups, frequency_penalty: float) -> np.ndarray:
    """float64 (N,): boxes per image, where the first box of each class counts 1 and every
    further box of that class counts ``frequency_penalty``. category_index: int64 (P,) >= 0.
    """
    category = np.asarray(category_index, dtype=np.int64)
    n_classes = int(category.max()) + 1 if category.size else 1
    # count = distinct + penalty·(boxes − distinct), so only the distinct (image, class) pairs
    # per image are needed. Sorting the pair keys is cheap because they are already sorted by
    # image; a dense N × C table could be huge.
    keys = np.sort(groups.index * n_classes + category)
    first_of_pair = keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys
    distinct = np.bincount(first_of_pair // n_classes, minlength=groups.n_images)
    return distinct + frequency_penalty * (groups.counts - distinct)


def object_frequency(
    category_index: np.ndarray, groups: ImageGroups, frequency_penalty: float = 0.25, min_score: float = 0.9
) -> np.ndarray:
    """float64 (N,) in [0, 1]: :func:`object_counts` mapped linearly from their [min, max] over
    all N images (images without boxes count 0 and take part) onto [min_score, 1]; 1.0 for
    every image when all counts are equal.
    """
    counts = object_counts(category_index, groups, frequency_penalty)
    if groups.n_images == 0:
        return counts
    low, high = counts.min(), counts.max()
    if high == low:
        return np.ones(groups.n_images)
    scaled = min_score + (1.0 - min_score) * (counts - low) / (high - low)
    clipped: np.ndarray = np.clip(scaled, 0.0, 1.0)
    return clipped


def detection_scores(
    score: np.ndarray,
    probabilities: np.ndarray,
    category_index: np.ndarray,
    groups: ImageGroups,
    frequency_penalty: float = 0.25,
    min_score: float = 0.9,
) -> dict[str, np.ndarray]:
    """All five detection scores per image, each float64 (N,) in [0, 1].

    score: float64 (P,) box confidences (NaN = not given); probabilities: float64 (P, C), NaN rows
    where not given (scored as the one-hot of category_index (P,)). The class uncertainties take
    each image's most uncertain box (0 without boxes): one confusing object is enough to make
    the image worth labeling.
    """
    scores = {
        "objectness_least_confidence": objectness_least_confidence(score, groups),
        "object_frequency": object_frequency(category_index, groups, frequency_penalty, min_score),
    }
    scores.update(classification_scores(probabilities, category_index, groups))
    return scores
