"""An upload holding more files than allowed is refused before anything is unpacked, with a clear
error; what the dataset stored stays as it was. At the limit it is accepted."""

import json

import pytest

from webapp.datasets import uploads

from .conftest import TASK, upload, zip_bytes

LIMIT = 10  # the deployment's limit is a million entries; lowered here to build small archives


def stored_files(dataset):
    root = dataset.uploads_dir
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def task_archive(names, n_files: int) -> bytes:
    """A valid task folder: its schema and ``n_files - 1`` prediction files."""
    schema = {"task_type": "classification", "categories": [{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}]}
    files = {"extra/schema.json": json.dumps(schema)}
    for name in names[: n_files - 1]:
        files[f"extra/{name.rsplit('.', 1)[0]}.json"] = json.dumps({"file_name": name, "predictions": [{"category_id": 0}]})
    assert len(files) == n_files
    return zip_bytes(files)


@pytest.fixture
def limit(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_ENTRIES", LIMIT)
    return LIMIT


def test_one_file_over_the_limit_is_refused_and_nothing_changes(dataset, alice, images, limit):
    _, names = images
    before = stored_files(dataset)
    record = upload(dataset, alice, task_archive(names, limit + 1))
    assert not record.accepted
    assert [row["message"] for row in record.report if row["status"] == "error"] == [
        f"The archive holds {limit + 1} files; at most {limit} are accepted."
    ]
    assert record.summary == "Rejected: 1 problem; nothing was changed."
    assert stored_files(dataset) == before
    assert list(dataset.tasks.values_list("name", flat=True)) == [TASK]


def test_the_page_shows_the_refusal(alice_client, dataset, images, limit):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _, names = images
    response = alice_client.post(f"/datasets/{dataset.pk}/upload/",
                                 {"archive": SimpleUploadedFile("many.zip", task_archive(names, limit + 1))}, follow=True)
    assert f"The archive holds {limit + 1} files; at most {limit} are accepted." in response.content.decode()
    assert list(dataset.tasks.values_list("name", flat=True)) == [TASK]


def test_an_archive_at_the_limit_is_accepted(dataset, alice, images, limit):
    _, names = images
    record = upload(dataset, alice, task_archive(names, limit))
    assert record.accepted, record.report
    assert set(dataset.tasks.values_list("name", flat=True)) == {TASK, "extra"}
