"""``/healthz`` tells anonymous callers ok / not ok and nothing about the deployment; staff (by
session or by API token) get the details: database vendor, clusters and their hosts, the queue."""

from __future__ import annotations

import datetime
import json
import socket
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError
from rest_framework.test import APIClient

from tests.api.conftest import token_client

HOST = f"winnow-worker-{socket.gethostname()}"


class FakeStat:
    """What django-q2's ``Stat.get_all`` yields for one live cluster."""

    cluster_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    host = HOST
    status = "Idle"
    workers = [101, 102]
    timestamp = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture
def live_cluster(monkeypatch):
    monkeypatch.setattr("django_q.status.Stat.get_all", staticmethod(lambda broker=None: [FakeStat()]))


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("ops", password="ops-pass-1", is_staff=True)


VERDICTS_ONLY = {"status": "ok", "database": {"status": "ok"}, "worker": {"status": "ok"}}


def assert_nothing_disclosed(text: str) -> None:
    for secret in (HOST, "sqlite", "postgresql", "vendor", "cluster", "queued_tasks", "12345678", "time"):
        assert secret not in text, secret


def test_anonymous_callers_get_the_verdicts_only(client, db, live_cluster):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == VERDICTS_ONLY
    assert_nothing_disclosed(response.content.decode())


def test_an_ordinary_user_gets_the_verdicts_only(alice_client, live_cluster):
    response = alice_client.get("/healthz")
    assert response.status_code == 200 and response.json() == VERDICTS_ONLY


def test_an_ordinary_users_token_gets_the_verdicts_only(alice_api, live_cluster):
    response = alice_api.get("/healthz")
    assert response.status_code == 200 and response.json() == VERDICTS_ONLY


def test_a_bad_token_is_anonymous_not_an_error(db, live_cluster):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == VERDICTS_ONLY


def test_staff_by_session_get_the_details(client, staff, live_cluster):
    client.force_login(staff)
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["time"]
    assert body["database"]["status"] == "ok" and body["database"]["vendor"] in ("sqlite", "postgresql")
    assert body["worker"]["status"] == "ok" and "queued_tasks" in body["worker"]
    [cluster] = body["worker"]["clusters"]
    assert cluster["host"] == HOST and cluster["workers"] == 2


def test_staff_by_token_get_the_details(staff, live_cluster):
    body = token_client(staff).get("/healthz").json()
    assert body["worker"]["clusters"][0]["host"] == HOST and "vendor" in body["database"]


def test_no_worker_is_down_and_still_http_200(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": {"status": "ok"}, "worker": {"status": "down"}}


class BrokenConnection:
    vendor = "postgresql"

    def cursor(self):
        raise OperationalError('connection to server at "db.internal" (10.1.2.3), port 5432 failed')


def test_a_database_outage_is_503_without_the_error_text(client, db, monkeypatch, live_cluster):
    monkeypatch.setattr("webapp.health.connection", BrokenConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error" and response.json()["database"] == {"status": "error"}
    text = response.content.decode()
    assert "db.internal" not in text and "10.1.2.3" not in text and "OperationalError" not in text


def test_staff_see_why_the_database_is_down(client, staff, monkeypatch):
    client.force_login(staff)
    monkeypatch.setattr("webapp.health.connection", BrokenConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "db.internal" in json.dumps(response.json()["database"])
