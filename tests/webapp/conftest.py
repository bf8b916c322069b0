"""A small world for the web app's tests: two users, an allowed datasource root, a dataset
with images and predictions, and helpers to build prediction zips."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from selection_engine.formats.archive import zip_folder as client_zip_folder
from selection_engine.synthetic import write_images, write_predictions
from webapp.datasets.models import Dataset
from webapp.datasets.services import save_dataset, test_connection
from webapp.datasets.uploads import receive_upload

IMAGE_SIZE = (32, 32)
TASK = "animals"


def zip_bytes(files: dict[str, bytes | str]) -> bytes:
    """A zip holding ``files`` ({entry name: content})."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def zip_folder(folder: Path) -> bytes:
    """A zip of ``folder``'s .lightly files, packed as the Python client packs them."""
    archive = io.BytesIO()
    client_zip_folder(folder, archive)
    return archive.getvalue()


def upload(dataset, user, data: bytes, name: str = "predictions.zip"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return receive_upload(dataset, user, SimpleUploadedFile(name, data))


@pytest.fixture
def root(tmp_path, settings):
    """The one folder local datasources may point into."""
    path = tmp_path / "datasources"
    path.mkdir()
    settings.DATASOURCE_ROOTS = [path.resolve()]
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    return path


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password="alice-pass-1")


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob", password="bob-pass-1")


@pytest.fixture
def images(root):
    """24 generated 32x32 PNGs in two folders: (folder, names)."""
    folder = root / "animals"
    return folder, write_images(folder, 24, size=IMAGE_SIZE, folders=("cats", "dogs"))


@pytest.fixture
def predictions_zip(images, tmp_path):
    """A zip of a .lightly folder with one classification task over all the images."""
    _folder, names = images
    staging = tmp_path / "predictions"
    write_predictions(staging, names, {TASK: "classification"}, categories=("cat", "dog"), image_size=IMAGE_SIZE)
    return zip_folder(staging)


def make_dataset(owner, folder: Path, name: str = "Animals") -> Dataset:
    dataset = save_dataset(Dataset(owner=owner, name=name, source_type=Dataset.LOCAL, path=str(folder)))
    test_connection(dataset)
    return dataset


@pytest.fixture
def dataset(alice, images, predictions_zip):
    """Alice's dataset on the images, with the predictions uploaded."""
    made = make_dataset(alice, images[0])
    assert upload(made, alice, predictions_zip).accepted
    return made


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


CORAL = {
    "method": "coral",
    "stopping_condition": {"n_samples": 6},
    "active_learning": {"task_name": TASK, "score_name": "uncertainty_margin"},
}
SMALL_MODEL = {"collate": {"input_size": 32}, "loader": {"num_workers": 0}}


@pytest.fixture
def completed_run(dataset, alice):
    """Alice's coral run on her dataset, executed by the real task (6 of 24 images)."""
    from webapp.runs.services import schedule_run
    from webapp.runs.tasks import execute_run

    run = schedule_run(alice, dataset, worker_config=CORAL, lightly_config=SMALL_MODEL)
    assert execute_run(run.pk) == "completed", run.__class__.objects.get(pk=run.pk).error
    run.refresh_from_db()
    return run
