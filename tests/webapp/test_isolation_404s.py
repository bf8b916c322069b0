"""Someone else's run or tag does not exist for you: its plots and sample pages are a 404, the
compare page shows nothing of it, and a tag id of another user's dataset put under the URL of
your own dataset is a 404 on the page and in the API (export and delete), leaving the tag as it was.

Each 404 is paired with the owner's 200 on the same URL, so the URLs are known to be right."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from webapp.accounts.services import create_token
from webapp.datasets.models import Tag

from .conftest import make_dataset


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_token(user, 'tests')[1]}")
    return client


@pytest.fixture
def bob_dataset(bob, images):
    """Bob's own dataset (on the same folder: datasets are separate whatever their folder)."""
    return make_dataset(bob, images[0], name="Bob's animals")


def test_the_plots_and_sample_pages_of_another_users_run_are_not_found(completed_run, alice, bob):
    sample = completed_run.samples.filter(selected=True).first()
    urls = [f"/runs/{completed_run.pk}/plots/", f"/runs/{completed_run.pk}/samples/{sample.pk}/"]
    owner, other = logged_in(alice), logged_in(bob)
    for url in urls:
        assert owner.get(url).status_code == 200, url
        response = other.get(url)
        assert response.status_code == 404, url
        assert sample.filename not in response.content.decode()


def test_the_compare_page_is_a_404_for_another_users_runs(completed_run, alice, bob):
    pk = completed_run.pk
    picked = list(completed_run.samples.filter(selected=True).values_list("filename", flat=True))
    query = {"a": pk, "b": pk}
    mine = logged_in(alice).get("/runs/compare/", query).content.decode()
    assert f"<strong>{len(picked)}</strong> images selected by both" in mine and f"Run {pk} ·" in mine
    response = logged_in(bob).get("/runs/compare/", query)
    assert response.status_code == 404
    page = response.content.decode()
    assert "images selected by both" not in page
    assert not [name for name in picked if name in page]
    choices = logged_in(bob).get("/runs/compare/").content.decode()
    assert f"Run {pk} ·" not in choices  # not offered in bob's run choices either


def test_a_tag_of_another_users_dataset_under_your_own_dataset_url_is_not_found(completed_run, alice, bob, bob_dataset):
    tag = Tag.objects.get(dataset=completed_run.dataset)
    names = set(tag.items.values_list("filename", flat=True))
    bob_page, bob_api = logged_in(bob), api_client(bob)
    mine = bob_api.post(f"/api/v1/datasets/{bob_dataset.pk}/tags/", {"name": "mine", "filenames": sorted(names)[:2]}, format="json")
    assert mine.status_code == 201
    own = mine.json()["id"]

    # Bob's own tag, under his dataset: found (the URLs below are right)
    assert bob_page.get(f"/datasets/{bob_dataset.pk}/tags/{own}/export.csv").status_code == 200
    assert bob_api.get(f"/api/v1/datasets/{bob_dataset.pk}/tags/{own}/export/", {"file_format": "txt"}).status_code == 200

    # Alice's tag, under Bob's dataset: not found, in every format, on the page and in the API
    for fmt in ("csv", "json", "txt"):
        response = bob_page.get(f"/datasets/{bob_dataset.pk}/tags/{tag.pk}/export.{fmt}")
        assert response.status_code == 404, fmt
        assert not names & set(b"".join(getattr(response, "streaming_content", [response.content])).decode().split()), fmt
        response = bob_api.get(f"/api/v1/datasets/{bob_dataset.pk}/tags/{tag.pk}/export/", {"file_format": fmt})
        assert response.status_code == 404, fmt
    assert bob_page.post(f"/datasets/{bob_dataset.pk}/tags/{tag.pk}/delete/").status_code == 404
    assert bob_api.delete(f"/api/v1/datasets/{bob_dataset.pk}/tags/{tag.pk}/").status_code == 404
    tag.refresh_from_db()
    assert set(tag.items.values_list("filename", flat=True)) == names and tag.size == len(names)


def test_a_tag_of_another_users_dataset_does_not_filter_your_own_run(completed_run, alice, bob, bob_dataset):
    # Bob's tag id as the tag filter of Alice's run: refused on the gallery page (back to its
    # first page) and when tagging the view through the API (400), never a view of which of
    # Alice's images Bob tagged
    names = sorted(completed_run.samples.values_list("filename", flat=True))[:2]
    bobs = api_client(bob).post(f"/api/v1/datasets/{bob_dataset.pk}/tags/", {"name": "bob's", "filenames": names}, format="json")
    assert bobs.status_code == 201
    other, own = bobs.json()["id"], Tag.objects.get(dataset=completed_run.dataset).pk
    page, api = logged_in(alice), api_client(alice)
    gallery, tags = f"/runs/{completed_run.pk}/gallery/", f"/api/v1/datasets/{completed_run.dataset.pk}/tags/"
    assert page.get(gallery, {"tab": "all", "tag": own}).status_code == 200
    response = page.get(gallery, {"tab": "all", "tag": other})
    assert response.status_code == 302 and response["Location"] == gallery
    body = {"name": "view", "run": completed_run.pk, "filters": {"tab": "all", "tag": own}}
    assert api.post(tags, body, format="json").status_code == 201
    response = api.post(tags, {**body, "name": "leak", "filters": {"tab": "all", "tag": other}}, format="json")
    assert response.status_code == 400 and "filters" in response.json()["errors"]
    assert not Tag.objects.filter(name="leak").exists()
