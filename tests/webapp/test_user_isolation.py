"""Users see only their own data: someone else's dataset, run, thumbnail or artifact is a 404."""

import pytest

from webapp.runs.models import Run

from .conftest import CORAL, SMALL_MODEL


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


def test_another_users_dataset_pages_are_not_found(bob_client, dataset, images):
    _, names = images
    pk = dataset.pk
    for url in (f"/datasets/{pk}/", f"/datasets/{pk}/edit/", f"/datasets/{pk}/delete/",
                f"/datasets/{pk}/thumbnail/?name={names[0]}", f"/runs/new/?dataset={pk}"):
        assert bob_client.get(url).status_code == 404, url
    for url in (f"/datasets/{pk}/test/", f"/datasets/{pk}/upload/", f"/datasets/{pk}/delete/", f"/datasets/{pk}/edit/"):
        assert bob_client.post(url, {"name": "stolen"}).status_code == 404, url
    dataset.refresh_from_db()
    assert dataset.name == "Animals"
    assert dataset.name not in bob_client.get("/datasets/").content.decode()


def test_the_owner_gets_the_thumbnail(alice_client, dataset, images):
    _, names = images
    response = alice_client.get(f"/datasets/{dataset.pk}/thumbnail/", {"name": names[0]})
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "max-age" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert alice_client.get(f"/datasets/{dataset.pk}/thumbnail/", {"name": "../../etc/passwd"}).status_code == 404


def test_another_users_run_and_artifacts_are_not_found(bob_client, completed_run):
    pk = completed_run.pk
    for url in (f"/runs/{pk}/", f"/runs/{pk}/status.json", f"/runs/{pk}/gallery/", f"/runs/{pk}/artifacts/report.json",
                f"/runs/{pk}/artifacts/data/selected_samples.csv"):
        assert bob_client.get(url).status_code == 404, url
    for url in (f"/runs/{pk}/cancel/", f"/runs/{pk}/rerun/"):
        assert bob_client.post(url).status_code == 404, url
    assert Run.objects.count() == 1
    assert f"Run {pk}" not in bob_client.get("/runs/").content.decode()


def test_the_wizard_does_not_offer_or_accept_another_users_dataset(bob_client, dataset):
    page = bob_client.get("/runs/new/dataset/").content.decode()
    assert "Animals" not in page
    response = bob_client.post("/runs/new/dataset/", {"dataset": dataset.pk, "action": "next"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_the_engine_service_refuses_another_users_dataset(bob, dataset):
    from webapp.runs.services import schedule_run

    with pytest.raises(PermissionError):
        schedule_run(bob, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)


def test_pages_need_a_login(client, dataset):
    for url in ("/datasets/", f"/datasets/{dataset.pk}/", "/runs/", "/runs/new/dataset/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_forms_without_the_csrf_token_are_refused(alice, dataset):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    for url in ("/datasets/new/", f"/datasets/{dataset.pk}/delete/", f"/datasets/{dataset.pk}/upload/", "/runs/new/dataset/"):
        assert client.post(url, {"name": "x"}).status_code == 403, url
    assert client.get("/datasets/new/").content.decode().count("csrfmiddlewaretoken") >= 2  # the form and sign-out
