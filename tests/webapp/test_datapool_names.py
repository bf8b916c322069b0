"""A datapool name that is a path (``../x``, ``a/b``, absolute) is refused when a run is scheduled,
by the service, the API and the wizard's review, with the error on ``datapool.name``; nothing is
queued and no folder is made."""

import json

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from selection_engine.errors import ConfigError
from webapp.accounts.services import create_token
from webapp.runs.models import Run
from webapp.runs.services import schedule_run

from .conftest import SMALL_MODEL

BAD = ["../x", "a/b", "/srv/winnow-test-abs", "x/../../escape", ".."]


def worker(name: str) -> dict:
    return {"datapool": {"name": name}, "stopping_condition": {"n_samples": 3}}


def nothing_made() -> bool:
    """No run queued, and no folder of the names above made anywhere in the data folder."""
    made = [p for p in settings.DATA_DIR.rglob("*") if p.name in ("datapools", "a", "x", "escape", "winnow-test-abs")]
    return not Run.objects.exists() and not made


@pytest.mark.parametrize("name", BAD)
def test_the_service_refuses_it(alice, dataset, name):
    with pytest.raises(ConfigError) as caught:
        schedule_run(alice, dataset, worker_config=worker(name), lightly_config=SMALL_MODEL)
    assert caught.value.key == "datapool.name"
    assert nothing_made()


def test_the_api_refuses_it_naming_the_key(alice, dataset):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {create_token(alice, 'tests')[1]}")
    for name in BAD:
        response = api.post("/api/v1/runs/", {"dataset": dataset.pk, "worker_config": worker(name), "lightly_config": SMALL_MODEL},
                            format="json")
        assert response.status_code == 400, (name, response.json())
        assert "datapool.name" in response.json()["errors"], (name, response.json())
    assert nothing_made()


def test_the_wizard_review_refuses_it(alice_client, alice, dataset):
    alice_client.post("/runs/new/dataset/", {"dataset": dataset.pk, "action": "next"})
    for name in BAD:
        response = alice_client.post("/runs/new/review/", {
            "worker_config": json.dumps(worker(name)), "lightly_config": json.dumps(SMALL_MODEL), "selection_config": "",
            "action": "queue",
        })
        assert response.status_code == 200, name
        assert "datapool.name" in response.content.decode(), name
    assert nothing_made()


def test_a_plain_name_is_queued(alice, dataset):
    run = schedule_run(alice, dataset, worker_config=worker("weekly-pool_1.0"), lightly_config=SMALL_MODEL)
    assert Run.objects.get(pk=run.pk).state == Run.QUEUED
