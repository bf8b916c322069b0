"""What the staff dashboard shows: runs by state over time, the queue, workers, failures, disk."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from .. import datadir
from ..health import worker_status
from ..runs import jobs
from ..runs.models import Run


def runs_by_day(days: int = 30) -> dict:
    """{"days": [date, ...], state: [count per day, ...], "since": date, "until": date} for runs
    created in the last ``days`` (``since``/``until``: the whole window, which the chart shows)."""
    since = timezone.now() - timedelta(days=days)
    rows = (Run.objects.filter(created_at__gte=since).annotate(day=TruncDate("created_at"))
            .values("day", "state").annotate(n=Count("id")).order_by("day"))
    dates = sorted({row["day"] for row in rows})
    series = {state: [0] * len(dates) for state, _ in Run.STATES}
    for row in rows:
        series[row["state"]][dates.index(row["day"])] = row["n"]
    today = timezone.localdate()
    return {"days": [d.isoformat() for d in dates], **series,
            "since": (today - timedelta(days=days)).isoformat(), "until": today.isoformat()}


def state_counts() -> dict[str, int]:
    counts = dict(jobs.current(Run).values_list("state").annotate(n=Count("id")))
    return {state: counts.get(state, 0) for state, _ in Run.STATES}


def recent_failures(limit: int = 15):
    return Run.objects.filter(state=Run.FAILED).select_related("dataset", "owner").order_by("-finished_at")[:limit]


def _folder_size(path: Path) -> tuple[int, int]:
    """(bytes, files) under ``path``, without following symlinks."""
    total = files = 0
    for root, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
                files += 1
            except OSError:
                continue
    return total, files


def disk_usage() -> dict:
    """Bytes used by run outputs, thumbnails and uploads; cached for a minute (walking is slow)."""
    cached = cache.get("dashboard:disk")
    if cached:
        return cached
    started = time.monotonic()
    usage = {label: _folder_size(folder) for label, folder in datadir.disk_usage_folders().items()}
    result = {"folders": usage, "measured_in_s": round(time.monotonic() - started, 2), "data_dir": str(settings.DATA_DIR)}
    cache.set("dashboard:disk", result, 60)
    return result


def overview() -> dict:
    try:
        workers = worker_status()
    except Exception as exc:  # the broker is down: say so on the page
        workers = {"status": "error", "error": f"{type(exc).__name__}: {exc}", "clusters": [], "queued_tasks": None}
    return {
        "states": state_counts(),
        "by_day": runs_by_day(),
        "workers": workers,
        "running": Run.objects.filter(state=Run.RUNNING).select_related("dataset", "owner"),
        "queued": Run.objects.filter(state=Run.QUEUED).count(),
        "failures": recent_failures(),
        "disk": disk_usage(),
    }
