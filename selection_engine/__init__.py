"""Winnow's selection engine: choose the images worth labeling next.

A library first (``pipeline.run``, ``selection.greedy_k_center``), a CLI second (``winnow``).
This package never imports Django.
"""

__version__ = "0.1.0"
