"""Re-pointing a dataset at another folder (the edit page, the API's datasource PUT and PATCH)
drops its cached thumbnails: the gallery then shows the new folder's images, not stale pictures
of the old one kept under the same file names."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from selection_engine.synthetic import write_images
from webapp.accounts.services import create_token

from .conftest import IMAGE_SIZE, make_dataset


def thumbnail(client, dataset, name) -> bytes:
    response = client.get(f"/datasets/{dataset.pk}/thumbnail/", {"name": name})
    assert response.status_code == 200
    return b"".join(response.streaming_content)


@pytest.fixture
def other_folder(root, images):
    """Another folder under the root with different images under the same names."""
    _, names = images
    folder = root / "animals-v2"
    assert write_images(folder, len(names), size=IMAGE_SIZE, folders=("cats", "dogs"), seed=99) == names
    return folder


def alice_api(alice) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {create_token(alice, 'tests')[1]}")
    return api


def repoint_on_the_page(alice, dataset, folder):
    client = Client()
    client.force_login(alice)
    response = client.post(f"/datasets/{dataset.pk}/edit/", {"name": dataset.name, "source_type": "local", "path": str(folder)})
    assert response.status_code in (200, 302)


def repoint_with_put(alice, dataset, folder):
    response = alice_api(alice).put(f"/api/v1/datasets/{dataset.pk}/datasource/", {"type": "local", "path": str(folder)}, format="json")
    assert response.status_code == 200, response.json()


def repoint_with_patch(alice, dataset, folder):
    body = {"datasource": {"type": "local", "path": str(folder)}}
    response = alice_api(alice).patch(f"/api/v1/datasets/{dataset.pk}/", body, format="json")
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("repoint", [repoint_on_the_page, repoint_with_put, repoint_with_patch])
def test_the_new_folders_thumbnails_are_shown(client, alice, bob, dataset, images, other_folder, repoint):
    _, names = images
    client.force_login(alice)
    old = {name: thumbnail(client, dataset, name) for name in names[:3]}  # cached now
    # what the new folder's images look like, from a dataset that never saw the old folder
    fresh = make_dataset(bob, other_folder, name="Fresh")
    other = Client()
    other.force_login(bob)
    expected = {name: thumbnail(other, fresh, name) for name in names[:3]}
    assert all(old[name] != expected[name] for name in old)

    repoint(alice, dataset, other_folder)
    dataset.refresh_from_db()
    assert dataset.path == str(other_folder.resolve())
    assert {name: thumbnail(client, dataset, name) for name in names[:3]} == expected
