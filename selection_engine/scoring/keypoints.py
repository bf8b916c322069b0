"""Per-image uncertainty of keypoint detections (SPEC §2.2)."""

from __future__ import annotations

import numpy as np

from .reduce import ImageGroups


def mean_uncertainty(
    keypoints: np.ndarray, keypoint_offsets: np.ndarray, image_index: np.ndarray, n_images: int
) -> np.ndarray:
    """float64 (N,) in [0, 1]: 1 − mean confidence over all keypoints of all of an image's
    predictions, 0 for an image without keypoints.

    keypoints: float64 (K, 3) rows [x, y, confidence], confidence in [0, 1]; keypoint_offsets:
    int64 (P + 1,), prediction p owns rows offsets[p]:offsets[p + 1]; image_index: int64 (P,)
    sorted ascending.
    """
    points = np.asarray(keypoints, dtype=np.float64).reshape(-1, 3)
    offsets = np.asarray(keypoint_offsets, dtype=np.int64)
    if offsets.shape != (len(image_index) + 1,) or offsets[-1] != len(points):
        raise ValueError(
            f"keypoint_offsets must have P + 1 = {len(image_index) + 1} entries ending at K = {len(points)}, "
            f"got shape {offsets.shape}"
        )
    # A prediction's keypoints are contiguous and predictions are sorted by image, so repeating
    # each prediction's image index gives a sorted per-keypoint image index.
    keypoint_image = np.repeat(np.asarray(image_index, dtype=np.int64), np.diff(offsets))
    mean = ImageGroups(keypoint_image, n_images).mean(points[:, 2], empty=1.0)
    return np.clip(1.0 - mean, 0.0, 1.0)
