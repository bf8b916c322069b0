"""WINNOW_DATASOURCE_ROOTS are folders, not string prefixes: with the root ``.../datasources``, a
sibling ``.../datasources-evil`` is refused on the page, in the API and by the service, also when
reached through a symlink inside the root, and a stored path swapped to lead there is refused at use."""

import os

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from selection_engine.synthetic import write_images
from webapp.accounts.services import create_token
from webapp.datasets.models import Dataset
from webapp.datasets.services import engine_source, save_dataset

REFUSED = "is not under an allowed datasource root"


@pytest.fixture
def evil(root):
    """A folder beside the root whose name starts with the root's name, holding images."""
    folder = root.parent / f"{root.name}-evil"
    write_images(folder, 3, size=(16, 16))
    return folder


def test_the_page_refuses_a_sibling_whose_name_starts_with_the_root(alice_client, root, evil):
    response = alice_client.post("/datasets/new/", {"name": "Leak", "source_type": "local", "path": str(evil)})
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert not Dataset.objects.filter(name="Leak").exists()


def test_the_api_refuses_it_naming_the_path(alice, root, evil):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {create_token(alice, 'tests')[1]}")
    response = api.post("/api/v1/datasets/", {"name": "Leak", "datasource": {"type": "local", "path": str(evil)}}, format="json")
    assert response.status_code == 400
    assert REFUSED in response.json()["errors"]["datasource.path"]
    assert not Dataset.objects.exists()


def test_the_service_refuses_it_directly_and_through_a_symlink_in_the_root(alice, root, evil):
    os.symlink(evil, root / "shortcut")
    for path in (str(evil), str(evil / "cats"), str(root / "shortcut")):
        with pytest.raises(ValidationError) as caught:
            save_dataset(Dataset(owner=alice, name="x", source_type=Dataset.LOCAL, path=path))
        assert REFUSED in " ".join(caught.value.message_dict["path"]), path
    assert not Dataset.objects.exists()


def test_a_stored_path_swapped_into_the_sibling_is_refused_at_use(alice, root, evil):
    (root / "photos").mkdir()
    write_images(root / "photos", 2, size=(16, 16))
    dataset = save_dataset(Dataset(owner=alice, name="x", source_type=Dataset.LOCAL, path=str(root / "photos")))
    assert engine_source(dataset).list_images()  # usable while it points inside the root
    dataset.path = str(root / "current")  # as if stored unresolved, then swapped by someone with a shell
    os.symlink(evil, root / "current")
    with pytest.raises(Exception, match=REFUSED):
        engine_source(dataset)
