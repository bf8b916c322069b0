"""Does selection beat random labeling on this data? A simulated labeling loop (``loop``), its
summary and recommendation (``summary``), and the ``winnow evaluate`` command (``command``)."""

from .loop import Protocol, RoundState, Selector, engine_selector, random_selector, simulate
from .summary import method_table, recommendation

__all__ = [
    "Protocol", "RoundState", "Selector", "engine_selector", "method_table", "random_selector", "recommendation", "simulate",
]
