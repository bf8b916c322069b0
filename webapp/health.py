"""``GET /healthz``: is the database reachable, is a worker alive, how long is the queue.

Anyone may ask (load balancers and probes hold no account), so an anonymous caller gets the
verdicts only: ``{"status": "ok", "database": {"status": "ok"}, "worker": {"status": "down"}}``
and HTTP 200, or 503 when the database is unreachable. Host names, the database vendor, cluster
ids, the queue length and error texts describe the deployment to an attacker; they are added for
staff only (a logged-in staff user, or a staff user's API token in ``Authorization``).
"""

from __future__ import annotations

from typing import Any

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


def _is_staff(request) -> bool:
    """A staff user by session or by API token; a bad token is simply anonymous (probes get no 401)."""
    if request.user.is_authenticated:
        return request.user.is_staff
    from rest_framework.exceptions import AuthenticationFailed

    from .accounts.authentication import ApiTokenAuthentication

    try:
        found = ApiTokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return False
    return bool(found and found[0].is_staff)


def healthz(request):
    details: dict[str, Any] = {"time": timezone.now().isoformat(timespec="seconds")}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        details["database"] = {"status": "ok", "vendor": connection.vendor}
    except Exception as exc:
        details["database"] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    try:
        details["worker"] = worker_status()
    except Exception as exc:
        details["worker"] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    healthy = details["database"]["status"] == "ok"
    body = {
        "status": "ok" if healthy else "error",
        "database": {"status": details["database"]["status"]},
        "worker": {"status": details["worker"]["status"]},
    }
    try:
        staff = _is_staff(request)
    except Exception:  # the database is down: nobody can be recognised as staff
        staff = False
    if staff:
        body = {"status": body["status"], **details}
    return JsonResponse(body, status=200 if healthy else 503)
