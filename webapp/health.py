"""``GET /healthz``: is the database reachable, is a worker alive, how long is the queue."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.utils import timezone


def worker_status() -> dict:
    """django-q2 clusters that reported recently (their stats live in the shared cache)."""
    from django_q.brokers import get_broker
    from django_q.status import Stat

    broker = get_broker()
    clusters = []
    for stat in Stat.get_all(broker=broker):
        clusters.append({
            "cluster": stat.cluster_id.hex if hasattr(stat.cluster_id, "hex") else str(stat.cluster_id),
            "host": stat.host,
            "status": stat.status,
            "workers": len(stat.workers),
            "last_heartbeat": stat.timestamp.isoformat() if stat.timestamp else None,
        })
    return {"status": "ok" if clusters else "down", "clusters": clusters, "queued_tasks": broker.queue_size()}


def healthz(request):
    from .runs.services import fail_stale_runs

    body = {"time": timezone.now().isoformat(timespec="seconds")}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        body["database"] = {"status": "ok", "vendor": connection.vendor}
        fail_stale_runs()
    except Exception as exc:
        body["database"] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    try:
        body["worker"] = worker_status()
    except Exception as exc:
        body["worker"] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    return JsonResponse(body, status=200 if body["database"]["status"] == "ok" else 503)
