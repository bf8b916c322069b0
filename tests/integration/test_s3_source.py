"""S3Source against a real S3-protocol server on loopback (moto's server mode), not mocked calls.

If the server cannot start, every test here is skipped with the reason (shown by ``-ra``).
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

boto3 = pytest.importorskip("boto3", reason="boto3 is not installed: the S3 source cannot be tested")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed: no S3 server to test against")

from selection_engine import synthetic  # noqa: E402
from selection_engine.errors import ConfigError, InputError, UnsafePathError  # noqa: E402
from selection_engine.sources import LocalSource, S3Source, source_from_spec  # noqa: E402

KEY_ID, SECRET, REGION = "testing-key", "testing-secret", "us-east-1"


@pytest.fixture(scope="module")
def server():
    """``(endpoint_url, admin boto3 client)`` of a moto S3 server on 127.0.0.1 (a free port)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    crashed: list[BaseException] = []  # the server binds in a thread of its own: catch what kills it
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: crashed.append(args.exc_value)
    try:
        moto = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        starter = threading.Thread(target=moto.start, daemon=True)  # start() would wait forever on a crash
        starter.start()
        deadline = time.monotonic() + 20
        while starter.is_alive() and not crashed and time.monotonic() < deadline:
            starter.join(timeout=0.05)
        if crashed:  # werkzeug turns a failed bind into SystemExit: the cause is its context
            causes, error = [], crashed[0]
            while error is not None:
                causes.append(f"{type(error).__name__}: {error}")
                error = error.__cause__ or error.__context__
            raise RuntimeError("the server thread died: " + " <- ".join(reversed(causes)))
        if starter.is_alive():
            raise RuntimeError("the server thread did not come up within 20 s")
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        admin = boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, region_name=REGION
        )
        admin.list_buckets()  # a real round trip before any test relies on it
    except Exception as exc:  # any failure to start means: skip loudly, with the reason
        pytest.skip(f"SKIPPED LOUDLY: the moto S3 server could not start on 127.0.0.1: {type(exc).__name__}: {exc}")
    finally:
        threading.excepthook = previous_hook
    yield endpoint, admin
    moto.stop()


def new_bucket(admin, objects: dict[str, bytes]) -> str:
    name = f"winnow-{uuid.uuid4().hex[:12]}"
    admin.create_bucket(Bucket=name)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda item: admin.put_object(Bucket=name, Key=item[0], Body=item[1]), objects.items()))
    return name


def upload_folder(admin, bucket: str, root: Path, prefix: str = "") -> None:
    files = [p for p in root.rglob("*") if p.is_file()]
    keys = {(f"{prefix}/" if prefix else "") + p.relative_to(root).as_posix(): p.read_bytes() for p in files}
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda item: admin.put_object(Bucket=bucket, Key=item[0], Body=item[1]), keys.items()))


def s3(endpoint, bucket, prefix="", **kwargs) -> S3Source:
    return S3Source(bucket, prefix=prefix, endpoint_url=endpoint, region=REGION, access_key_id=KEY_ID,
                    secret_access_key=SECRET, **kwargs)


TREE = {
    "a/one.JPG": b"jpg-bytes",
    "a/b/two.png": b"png-bytes!",
    "three.WebP": b"webp",
    "four.tiff": b"tiff",
    "notes.txt": b"not an image",
    ".hidden.png": b"hidden file",
    "a/.cache/x.png": b"hidden folder",
    ".lightly/predictions/tasks.json": b'["weather"]',
    ".lightly/predictions/weather/a/one.json": b"{}",
    "a/": b"",  # a folder marker as made by consoles
}


@pytest.fixture(scope="module")
def tree(server):
    endpoint, admin = server
    return endpoint, new_bucket(admin, TREE)


# ---------------------------------------------------------------- listing


def test_lists_images_in_subfolders_case_insensitively_without_hidden_ones(tree):
    endpoint, bucket = tree
    source = s3(endpoint, bucket)
    assert source.list_images() == ["a/b/two.png", "a/one.JPG", "four.tiff", "three.WebP"]
    assert source.rejected == []
    assert source.label == f"s3://{bucket}"
    assert SECRET not in repr(source)


def test_lightly_folder_is_reachable_through_list_files_and_open(tree):
    endpoint, bucket = tree
    source = s3(endpoint, bucket)
    assert source.list_files(".lightly") == [".lightly/predictions/tasks.json", ".lightly/predictions/weather/a/one.json"]
    assert source.list_files(".lightly/predictions/weather") == [".lightly/predictions/weather/a/one.json"]
    assert source.list_files(".lightly/metadata") == []
    assert json.load(source.open(".lightly/predictions/tasks.json")) == ["weather"]


def test_listing_pages_through_more_than_1000_objects(server):
    endpoint, admin = server
    objects = {f"many/{i:05d}.png": b"x" for i in range(1003)}
    objects.update({f"top{i}.jpg": b"y" for i in range(3)})
    objects.update({f".lightly/predictions/t/many/{i:05d}.json": b"{}" for i in range(5)})
    bucket = new_bucket(admin, objects)
    source = s3(endpoint, bucket)
    images = source.list_images()
    assert len(images) == 1006 and images == sorted(k for k in objects if not k.startswith("."))
    assert len(source.list_files(".lightly/predictions")) == 5
    source.page_size = 7  # many pages: folders (common prefixes) and objects both continue across pages
    assert source.list_images() == images
    assert len(source.list_files(".lightly/predictions/t")) == 5


def test_small_pages_over_many_folders(server):
    endpoint, admin = server
    objects = {f"f{i:02d}/img{j}.png": b"x" for i in range(12) for j in range(3)}
    bucket = new_bucket(admin, objects)
    source = s3(endpoint, bucket)
    source.page_size = 5
    assert source.list_images() == sorted(objects)


def test_prefix_scopes_everything_to_its_folder(server):
    endpoint, admin = server
    bucket = new_bucket(admin, {
        "outside.png": b"secret", "pre-other/x.png": b"sibling", "pre/in.png": b"inside",
        "pre/sub/deep.jpg": b"deep", "pre/.lightly/metadata/schema.json": b"[]",
    })
    for prefix in ("pre", "/pre/", "pre/"):
        source = s3(endpoint, bucket, prefix=prefix)
        assert source.label == f"s3://{bucket}/pre"
        assert source.list_images() == ["in.png", "sub/deep.jpg"]
        assert source.list_files(".lightly") == [".lightly/metadata/schema.json"]
        assert source.read_bytes("sub/deep.jpg") == b"deep"
    with pytest.raises(UnsafePathError, match=r"\.\."):
        source.open("../outside.png")
    with pytest.raises(UnsafePathError):
        source.exists("../pre-other/x.png")
    with pytest.raises(UnsafePathError):
        s3(endpoint, bucket, prefix="pre/../other")


def test_keys_that_are_not_clean_paths_are_rejected_with_the_reason(server):
    endpoint, admin = server
    bucket = new_bucket(admin, {"ok.png": b"1", "a//double.png": b"2", "b/./dot.png": b"3", "c/../up.png": b"4"})
    source = s3(endpoint, bucket)
    assert source.list_images() == ["ok.png"]
    rejected = dict(source.rejected)
    assert set(rejected) == {"a//double.png", "b/./dot.png", "c/../up.png"}
    assert all("not a clean relative path" in reason for reason in rejected.values())


# ---------------------------------------------------------------- reading


def test_open_exists_and_size(tree):
    endpoint, bucket = tree
    source = s3(endpoint, bucket)
    with source.open("a/b/two.png") as handle:
        assert handle.read() == b"png-bytes!"
    assert source.read_bytes("a/one.JPG") == b"jpg-bytes"
    assert source.exists("a/b/two.png") and source.exists(".lightly/predictions/tasks.json")
    assert not source.exists("a/b/missing.png")
    assert not source.exists("a")  # a folder is not a file
    assert source.size("a/b/two.png") == 10  # HeadObject: nothing listed yet
    source.list_images()
    assert source.size("three.WebP") == 4  # from the listing
    with pytest.raises(InputError, match="no such file"):
        source.size("a/b/missing.png")
    with pytest.raises(InputError, match=rf"s3://{bucket}/nope\.png: no such file"):
        source.open("nope.png")


@pytest.mark.parametrize("path", ["../x.png", "a/../../x.png", "/etc/passwd", "C:/x.png", "", "a/\x00.png"])
def test_paths_leaving_the_root_are_refused_before_any_request(tree, path):
    endpoint, bucket = tree
    source = s3(endpoint, bucket)
    for call in (source.open, source.exists, source.size, source.list_files):
        with pytest.raises(UnsafePathError):
            call(path)


# ---------------------------------------------------------------- errors a user can act on


def test_a_missing_bucket_is_a_clear_input_error(server):
    endpoint, _ = server
    with pytest.raises(InputError) as caught:
        s3(endpoint, "no-such-bucket-here")
    message = str(caught.value)
    assert "no-such-bucket-here" in message and "does not exist" in message and endpoint in message


def test_an_unreachable_endpoint_is_a_clear_input_error():
    with socket_closed_port() as port:
        endpoint = f"http://127.0.0.1:{port}"
        with pytest.raises(InputError) as caught:
            S3Source("some-bucket", endpoint_url=endpoint, access_key_id=KEY_ID, secret_access_key=SECRET)
    message = str(caught.value)
    assert "cannot reach" in message and endpoint in message and "some-bucket" in message


def test_a_malformed_endpoint_is_a_clear_input_error():
    with pytest.raises(InputError, match=r"localhost:9000.*not a valid endpoint URL"):
        S3Source("some-bucket", endpoint_url="localhost:9000", access_key_id=KEY_ID, secret_access_key=SECRET)


def test_only_one_of_the_two_credentials_is_refused():
    with pytest.raises(InputError, match="both access_key_id and secret_access_key"):
        S3Source("some-bucket", access_key_id=KEY_ID, check=False)


def test_wrong_credentials_are_clear_input_errors(server):
    """moto checks signatures against its IAM once auth is switched on (``/moto-api/reset-auth``)."""
    endpoint, admin = server
    bucket = new_bucket(admin, {"x.png": b"1"})
    iam = boto3.client("iam", endpoint_url=endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                       region_name=REGION)
    user = f"reader-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    set_auth(endpoint, "0")
    try:
        with pytest.raises(InputError, match="wrong credentials: the access key id is not known") as caught:
            S3Source(bucket, endpoint_url=endpoint, region=REGION, access_key_id="AKIAUNKNOWN0000000", secret_access_key="x")
        assert bucket in str(caught.value)
        with pytest.raises(InputError, match="wrong credentials: the secret access key does not match"):
            S3Source(bucket, endpoint_url=endpoint, region=REGION, access_key_id=key["AccessKeyId"], secret_access_key="wrong")
        with pytest.raises(InputError, match="access denied"):  # right key, no policy allowing s3:ListBucket
            S3Source(bucket, endpoint_url=endpoint, region=REGION, access_key_id=key["AccessKeyId"],
                     secret_access_key=key["SecretAccessKey"])
    finally:
        set_auth(endpoint, "inf")


def set_auth(endpoint: str, count: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=count.encode(), method="POST",
                                     headers={"Content-Type": "application/octet-stream"})  # a raw body, not a form
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


class socket_closed_port:
    """A loopback port nobody listens on (bound, never listening: connections are refused)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()


# ---------------------------------------------------------------- processes


def test_a_pickled_source_works_in_another_process(tree):
    endpoint, bucket = tree
    source = s3(endpoint, bucket)
    source.list_images()  # the parent has a client and a size cache: neither travels
    payload = pickle.dumps(source)
    code = (
        "import pickle, sys; s = pickle.loads(sys.stdin.buffer.read()); "
        "print(s.label, s.size('a/b/two.png'), s.read_bytes('a/one.JPG').decode(), s.list_images())"
    )
    proc = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().split(" ", 3)[:3] == [f"s3://{bucket}", "10", "jpg-bytes"]


def test_forked_dataloader_workers_read_through_their_own_client(server, tmp_path):
    torch = pytest.importorskip("torch")
    from selection_engine.embedding.inference import _ImageFiles

    endpoint, admin = server
    names = synthetic.write_images(tmp_path, 8, size=(16, 16), seed=3)
    bucket = new_bucket(admin, {})
    upload_folder(admin, bucket, tmp_path, prefix="imgs")
    source = s3(endpoint, bucket, prefix="imgs")
    assert source.list_images() == names
    parent_client = source._get_client()  # made before the fork: workers must not reuse it
    loader = torch.utils.data.DataLoader(_ImageFiles(source, names, 16), batch_size=4, num_workers=2,
                                         multiprocessing_context="fork")
    batches = list(loader)
    assert sum(len(b) for b in batches) == 8 and batches[0].shape[1:] == (3, 16, 16)
    local = torch.stack([_ImageFiles(LocalSource(tmp_path), names, 16)[i] for i in range(8)])
    assert torch.equal(torch.cat(batches), local)
    assert source._get_client() is parent_client


# ---------------------------------------------------------------- source_from_spec


def test_source_from_spec(server, tmp_path, tree):
    endpoint, bucket = tree
    local = source_from_spec({"type": "local", "path": str(tmp_path)})
    assert isinstance(local, LocalSource)
    remote = source_from_spec({"type": "s3", "bucket": bucket, "prefix": "a", "endpoint_url": endpoint, "region": REGION,
                               "access_key_id": KEY_ID, "secret_access_key": SECRET})
    assert isinstance(remote, S3Source) and remote.list_images() == ["b/two.png", "one.JPG"]
    remote = source_from_spec({"type": "s3", "bucket": bucket, "prefix": None, "endpoint_url": endpoint,
                               "access_key_id": KEY_ID, "secret_access_key": SECRET})
    assert remote.label == f"s3://{bucket}"


@pytest.mark.parametrize(
    "spec, key, message",
    [
        ({"path": "x"}, "datasource.type", "is required"),
        ({"type": "ftp"}, "datasource.type", "unknown type 'ftp'"),
        ({"type": "local"}, "datasource.path", "is required"),
        ({"type": "s3", "prefix": "x"}, "datasource.bucket", "is required"),
        ({"type": "s3", "bucket": "b", "endpoint": "http://x"}, "datasource.endpoint", "did you mean endpoint_url"),
        ({"type": "s3", "bucket": 3}, "datasource.bucket", "expected a string"),
        ({"type": "s3", "bucket": "bkt", "access_key_id": "k"}, "datasource.secret_access_key", "both"),
        ({"type": "local", "path": "/x", "bucket": "b"}, "datasource.bucket", "unknown key"),
    ],
)
def test_source_from_spec_names_the_bad_key(spec, key, message):
    with pytest.raises(ConfigError, match=message) as caught:
        source_from_spec(spec)
    assert caught.value.key == key


def test_a_bad_spec_that_is_not_a_dict():
    with pytest.raises(ConfigError, match="datasource"):
        source_from_spec(["s3"])


# ---------------------------------------------------------------- the whole engine


def test_a_whole_run_reads_images_and_predictions_from_the_bucket(server, tmp_path):
    from selection_engine.config import resolve
    from selection_engine.pipeline import run

    endpoint, admin = server
    root = tmp_path / "datasource"
    names = synthetic.write_images(root, 30, size=(48, 64), seed=7)
    synthetic.write_predictions(root, names, {"weather": "classification"}, image_size=(48, 64), seed=8)
    bucket = new_bucket(admin, {})
    upload_folder(admin, bucket, root, prefix="datasets/pets")
    out = tmp_path / "out"
    config = resolve(overrides=[
        f"output_dir={out}", "stopping_condition.n_samples=5", "method=coral", "active_learning.task_name=weather",
        "active_learning.score_name=uncertainty_entropy", "lightly.loader.num_workers=0",
    ])
    log = io.StringIO()
    result = run(config, show_bars=False, stream=log, source=s3(endpoint, bucket, prefix="datasets/pets"))
    assert len(result.selected) == 5 and set(result.selected) <= set(names)
    assert (result.run_dir / "data/scores.csv").is_file()
    assert "30" in log.getvalue()


def test_the_cli_reads_an_s3_input_dir(server, tmp_path):
    """``input_dir=s3://bucket/prefix`` with the endpoint and keys from the environment."""
    endpoint, admin = server
    bucket = new_bucket(admin, {})
    synthetic.write_images(tmp_path / "images", 8, seed=5)
    upload_folder(admin, bucket, tmp_path / "images", prefix="cli")
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": KEY_ID,
           "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": REGION}
    proc = subprocess.run(
        [sys.executable, "-m", "selection_engine", f"input_dir=s3://{bucket}/cli", f"output_dir={tmp_path / 'out'}",
         "stopping_condition.n_samples=3", "lightly.loader.num_workers=0", "run_directory=r"],
        capture_output=True, text=True, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"Found 8 input images in s3://{bucket}/cli." in proc.stdout
    assert len((tmp_path / "out/r/filenames/sampled_filenames.txt").read_text().split()) == 3
