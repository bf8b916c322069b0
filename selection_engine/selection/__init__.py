"""Choosing samples: greedy k-center and the strategies that combine with it."""

from .kcenter import DistanceTracker, greedy_k_center
from .select import Objective, SelectionResult, build_objectives, nearest_selected, select

__all__ = [
    "DistanceTracker",
    "Objective",
    "SelectionResult",
    "build_objectives",
    "greedy_k_center",
    "nearest_selected",
    "select",
]
