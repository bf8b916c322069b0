"""Exports of a dataset on an S3 bucket (a real S3-protocol server on loopback, as in
test_s3_source): Label Studio tasks point at ``s3://bucket/prefix/<file>``, the zip streams the
objects' bytes out of the bucket."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from selection_engine import synthetic
from selection_engine.sources import EndpointPolicy
from tests.integration.test_s3_source import KEY_ID, REGION, SECRET, new_bucket, server  # noqa: F401  (fixture)
from tests.webapp.conftest import alice, alice_client, root  # noqa: F401  (fixtures)
from tests.webapp.test_exports_for_labeling import body, check_label_studio
from webapp.datasets.models import Dataset
from webapp.datasets.services import save_dataset
from webapp.datasets.tags import create_tag


@pytest.mark.django_db
def test_a_tag_on_a_bucket_exports_s3_references_and_a_zip_read_from_the_bucket(
    server, alice, alice_client, root, settings, tmp_path,
):
    endpoint, admin = server
    settings.S3_ENDPOINT_POLICY = EndpointPolicy.parse("public", "127.0.0.0/8")  # an operator allowing a local MinIO
    names = synthetic.write_images(tmp_path / "images", 3, size=(16, 16))
    objects = {f"shots/june/{n}": (tmp_path / "images" / n).read_bytes() for n in names}
    bucket = new_bucket(admin, objects)
    dataset = save_dataset(Dataset(
        owner=alice, name="Bucket", source_type=Dataset.S3, bucket=bucket, prefix="shots/june", endpoint_url=endpoint,
        region=REGION, access_key_id=KEY_ID, secret_access_key=SECRET,
    ))
    tag = create_tag(dataset, "three", names)
    base = f"/datasets/{dataset.pk}/tags/{tag.pk}/export"

    tasks = json.loads(alice_client.get(f"{base}.labelstudio").content)
    check_label_studio(tasks, names)
    assert [t["data"]["image"] for t in tasks] == [f"s3://{bucket}/shots/june/{n}" for n in names]
    assert SECRET not in json.dumps(tasks) and KEY_ID not in json.dumps(tasks)

    response = alice_client.get(f"{base}.zip")
    assert response.streaming
    with zipfile.ZipFile(io.BytesIO(body(response))) as archive:
        assert archive.namelist() == names
        assert [archive.read(n) for n in names] == [objects[f"shots/june/{n}"] for n in names]
