"""A local datasource must lie under WINNOW_DATASOURCE_ROOTS; anything else is refused with the reason."""

import os

import pytest
from django.core.exceptions import ValidationError

from selection_engine.sources import EndpointPolicy
from webapp.datasets.models import Dataset
from webapp.datasets.services import engine_source, save_dataset


def test_a_folder_under_a_root_is_accepted_and_counted(alice_client, images):
    folder, names = images
    response = alice_client.post("/datasets/new/", {"name": "Animals", "source_type": "local", "path": str(folder)}, follow=True)
    assert response.status_code == 200
    dataset = Dataset.objects.get(name="Animals")
    assert dataset.image_count == len(names)
    assert f"The datasource holds {len(names)} images" in response.content.decode()


def test_a_folder_outside_the_roots_is_refused_with_the_reason(alice_client, root, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    response = alice_client.post("/datasets/new/", {"name": "Leak", "source_type": "local", "path": str(outside)})
    page = response.content.decode()
    assert response.status_code == 200
    assert "is not under an allowed datasource root" in page and str(root) in page
    assert not Dataset.objects.filter(name="Leak").exists()


def test_dot_dot_and_symlinks_cannot_leave_the_root(alice, root, tmp_path):
    (tmp_path / "secret").mkdir()
    os.symlink(tmp_path / "secret", root / "link")
    for path in (str(root / ".." / "secret"), str(root / "link"), "relative/path", "/etc"):
        with pytest.raises(ValidationError) as caught:
            save_dataset(Dataset(owner=alice, name="x", source_type=Dataset.LOCAL, path=path))
        assert "path" in caught.value.message_dict


def test_a_symlink_swapped_after_saving_is_refused_at_use(alice, root, tmp_path):
    (root / "photos").mkdir()
    os.symlink(root / "photos", root / "current")
    dataset = save_dataset(Dataset(owner=alice, name="x", source_type=Dataset.LOCAL, path=str(root / "current")))
    assert dataset.path == str((root / "photos").resolve())  # stored resolved: a later swap of "current" is harmless
    dataset.path = str(root / "current")  # as if stored unresolved by an older version
    (root / "current").unlink()
    (tmp_path / "secret").mkdir()
    os.symlink(tmp_path / "secret", root / "current")
    with pytest.raises(Exception, match="not under an allowed datasource root"):
        engine_source(dataset)


def test_an_s3_datasource_needs_a_bucket_and_both_keys(alice, root):
    with pytest.raises(ValidationError) as caught:
        save_dataset(Dataset(owner=alice, name="s3", source_type=Dataset.S3, bucket=""))
    assert "bucket" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        save_dataset(Dataset(owner=alice, name="s3", source_type=Dataset.S3, bucket="b", access_key_id="AK"))
    assert "secret_access_key" in str(caught.value) or "access_key_id" in str(caught.value)


def test_an_unreachable_s3_datasource_is_refused_with_the_reason(alice_client, root, settings):
    settings.S3_ENDPOINT_POLICY = EndpointPolicy.parse("public", "127.0.0.0/8")  # an operator allowing a local MinIO
    response = alice_client.post("/datasets/new/", {
        "name": "Bucket", "source_type": "s3", "bucket": "photos", "endpoint_url": "http://127.0.0.1:9",
        "access_key_id": "AK", "secret_access_key": "SK",
    })
    assert "cannot reach the S3 endpoint or the bucket" in response.content.decode()
    assert not Dataset.objects.filter(name="Bucket").exists()


def test_the_stored_s3_secret_is_never_shown_and_kept_when_left_empty(alice_client, alice, monkeypatch):
    dataset = Dataset.objects.create(owner=alice, name="Bucket", source_type=Dataset.S3, bucket="photos",
                                     access_key_id="AK", secret_access_key="s3cr3t-value-xyz")
    assert "s3cr3t-value-xyz" not in alice_client.get(f"/datasets/{dataset.pk}/edit/").content.decode()
    checked = []
    monkeypatch.setattr("webapp.datasets.services.source_from_spec", lambda spec, **_: checked.append(spec))
    monkeypatch.setattr("webapp.datasets.views.services.test_connection", lambda d: type("R", (), {"ok": True, "image_count": 0})())
    alice_client.post(f"/datasets/{dataset.pk}/edit/", {
        "name": "Bucket", "source_type": "s3", "bucket": "photos", "prefix": "2024",
        "access_key_id": "AK", "secret_access_key": "",
    })
    dataset.refresh_from_db()
    assert dataset.prefix == "2024"
    assert dataset.secret_access_key == "s3cr3t-value-xyz"
    assert checked and checked[0]["secret_access_key"] == "s3cr3t-value-xyz"
