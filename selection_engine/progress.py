"""Progress and log lines for a run, for the terminal and for whoever called the pipeline.

The pipeline reports through a callback ``on_progress(stage, done, total, message)``; the web
app stores it on the Run, the CLI draws tqdm bars. Log lines are timestamped like the Lightly
worker's: ``[2021-09-29 13:32:11] Found 372 input images in input_dir.``
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Protocol, TextIO, TypeVar

from tqdm import tqdm

ProgressCallback = Callable[[str, int, int, str], None]
T = TypeVar("T")


class LogStream(Protocol):
    """Where a Reporter prints its log lines: a text file, or anything with ``write`` and ``flush``."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


class Reporter:
    """Writes log lines (to the terminal and the run's log.txt) and tracks progress of stages."""

    def __init__(
        self,
        on_progress: ProgressCallback | None = None,
        show_bars: bool = True,
        stream: LogStream | None = None,
        min_interval: float = 0.5,
    ):
        self.on_progress = on_progress
        self.show_bars = show_bars
        self.stream: LogStream = stream if stream is not None else sys.stdout
        self.min_interval = min_interval
        self.logfile: TextIO | None = None
        self.lines: list[str] = []
        self.stage = ""

    def log(self, message: str) -> None:
        line = f"[{datetime.now():%Y-%m-%d %H:%M:%S}] {message}"
        self.lines.append(line)
        print(line, file=self.stream, flush=True)
        if self.logfile is not None:
            self.logfile.write(line + "\n")
            self.logfile.flush()

    def attach_logfile(self, handle: TextIO) -> None:
        """Start mirroring lines into ``handle``, beginning with those logged so far."""
        self.logfile = handle
        for line in self.lines:
            handle.write(line + "\n")
        handle.flush()

    def set_stage(self, stage: str, message: str = "") -> None:
        self.stage = stage
        if message:
            self.log(message)
        self.progress(0, 0, message)

    def progress(self, done: int, total: int, message: str = "") -> None:
        if self.on_progress is not None:
            self.on_progress(self.stage, done, total, message)

    def track(self, items: Iterable[T], total: int, desc: str, postfix: Callable[[], str] | None = None) -> Iterator[T]:
        """Yield ``items`` while drawing a bar and calling the callback at most every ``min_interval`` s.

        ``postfix`` returns text shown as the bar's description (e.g. "Corrupt images found: 3").
        """
        bar = tqdm(total=total, desc=desc, disable=not self.show_bars, file=sys.stderr, leave=True)
        last = 0.0
        done = 0
        try:
            for item in items:
                yield item
                done += 1
                bar.update(1)
                if postfix is not None:
                    bar.set_description(postfix(), refresh=False)
                now = time.monotonic()
                if now - last >= self.min_interval or done == total:
                    last = now
                    self.progress(done, total, postfix() if postfix else desc)
        finally:
            bar.close()


class StageTimer:
    """Seconds spent per named stage (summed when a stage runs more than once)."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = round(self.stages.get(name, 0.0) + time.perf_counter() - began, 3)
