"""The image pass over a bucket: the Ray workers read the objects themselves (a real S3-protocol
server on loopback), and the run equals the in-process run over the same bucket."""

from __future__ import annotations

import shutil

from selection_engine.sources import S3Source
from tests.digits import write_digit_folders
from tests.integration.test_s3_source import KEY_ID, REGION, SECRET, new_bucket, s3, server, upload_folder  # noqa: F401

from .conftest import run
from .test_image_pass import assert_same_run

#: The files read through a CountingSource in this process (a Ray worker's reads stay in its own).
READ_HERE: list[str] = []


class CountingSource(S3Source):
    def read_bytes(self, relpath: str) -> bytes:
        READ_HERE.append(relpath)
        return super().read_bytes(relpath)


def test_a_bucket_is_read_by_the_ray_workers_and_gives_the_in_process_run(ray_head, server, tmp_path):
    endpoint, admin = server
    folder = tmp_path / "images"
    write_digit_folders(folder, n=60)
    shutil.copy(folder / "digit-0/0000.png", folder / "zz-copy.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    bucket = new_bucket(admin, {})
    upload_folder(admin, bucket, folder, prefix="digits")
    keys = ["stopping_condition.n_samples=8", "lightly.collate.input_size=32"]
    reference, _ = run(tmp_path / "in-process", *keys, source=s3(endpoint, bucket, "digits"))
    source = CountingSource(bucket, prefix="digits", endpoint_url=endpoint, region=REGION, access_key_id=KEY_ID,
                            secret_access_key=SECRET)
    result, log = run(tmp_path / "ray", *keys, f"ray_address={ray_head}", source=source)
    assert_same_run(result, reference)
    assert (result.run_dir / "filenames/corrupt_filenames.txt").read_text().split() == ["broken.png"]
    assert (result.run_dir / "filenames/duplicate_filenames.txt").read_text().split() == ["zz-copy.png"]
    assert "Image pass on the Ray cluster" in log
    # The checks read the objects on the workers: the run's own process never read the corrupt
    # file or the duplicate (it reads only the images its report shows).
    assert "broken.png" not in READ_HERE and "zz-copy.png" not in READ_HERE
