"""An S3-compatible bucket (AWS S3, MinIO, Ceph, ...) as a source.

Objects live at ``<prefix>/<relpath>``; every relpath goes through :func:`safe_relpath` first, so
nothing outside the prefix can be named. Keys that could not round-trip through a relpath
(``a//b.jpg``, ``../x.jpg``, backslashes) are skipped while listing and reported in
:attr:`S3Source.rejected`.

With an :class:`~.endpoints.EndpointPolicy` (the web app always gives one) the endpoint is checked
when the source is made and again right before every request, and a failure to reach it is one
message that does not say what answered (refused, timed out, reset, not S3): otherwise the
source would be a port scanner for its users. The details go to the log.

The boto3 client is created lazily, once per process: a source is pickled into DataLoader
workers (spawn) or inherited by them (fork), and a client (with its open connections) must never
be shared across processes. boto3 clients are thread-safe, so the threads of one process share
one client.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

from ..errors import InputError, UnsafePathError, WinnowError
from .base import Source, is_image, name_problem, printable, safe_relpath
from .endpoints import EndpointPolicy

logger = logging.getLogger(__name__)

#: Connections kept per client: the engine reads with up to 16 threads, plus a few checks.
_MAX_CONNECTIONS = 32
#: Attempts per request (the first one included); throttling and dropped connections are retried.
_MAX_ATTEMPTS = 3
_CONNECT_TIMEOUT = 10
_READ_TIMEOUT = 60

_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
_NO_BUCKET_CODES = {"NoSuchBucket"}
_CREDENTIAL_CODES = {
    "InvalidAccessKeyId": "the access key id is not known to the server",
    "SignatureDoesNotMatch": "the secret access key does not match the access key id",
    "InvalidToken": "the session token is invalid",
    "ExpiredToken": "the credentials have expired",
    "TokenRefreshRequired": "the credentials have expired",
    "InvalidSecurity": "the credentials are invalid",
}
_DENIED_CODES = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled", "AccountProblem"}
#: What a user of a policed source learns when the endpoint or the bucket cannot be reached, for
#: whatever reason: the same words for a closed port, a timeout, a reset and a server that is not S3.
UNREACHABLE = "cannot reach the S3 endpoint or the bucket; check the endpoint URL, the bucket and the credentials"


def _strip_prefix(prefix: str | None) -> str:
    """``"/images/2024/"`` → ``"images/2024"``; ``..`` and the like are refused."""
    prefix = (prefix or "").strip().strip("/")
    if not prefix:
        return ""
    clean = safe_relpath(prefix, "prefix")
    if clean != prefix:
        raise UnsafePathError("prefix", f"{prefix!r} is not a clean folder path (did you mean {clean!r}?)")
    return clean


class S3Source(Source):
    """Images in ``bucket`` under ``prefix``, through the S3 protocol.

    ``endpoint_url`` selects an S3-compatible server (``http://minio:9000``); without it AWS is
    used. Without ``access_key_id``/``secret_access_key`` boto3's usual credential chain applies
    (environment, ``~/.aws``, instance roles). The constructor checks that the bucket can be
    listed, so wrong credentials, a missing bucket or an unreachable endpoint fail at once with an
    :class:`InputError` that says which. ``endpoint_policy`` decides which endpoints may be
    connected to (see :mod:`.endpoints`); None allows any (the CLI: its user is the operator).
    """

    io_threads = 16
    #: Keys per ListObjectsV2 page (S3 returns at most 1000).
    page_size = 1000

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        *,
        endpoint_policy: EndpointPolicy | None = None,
        check: bool = True,
    ):
        if not bucket or not isinstance(bucket, str):
            raise InputError("bucket", "a bucket name is required")
        if bool(access_key_id) != bool(secret_access_key):
            raise InputError(
                f"s3://{bucket}", "give both access_key_id and secret_access_key, or neither (to use the AWS credential chain)"
            )
        self.bucket = bucket
        self.prefix = _strip_prefix(prefix)
        self.endpoint_url = endpoint_url or None
        self.region = region or None
        self.access_key_id = access_key_id or None
        self._secret_access_key = secret_access_key or None
        self.endpoint_policy = endpoint_policy
        if endpoint_policy is not None:
            endpoint_policy.check(self.endpoint_url)
        self.rejected = []
        self._sizes: dict[str, int] = {}  # relpath → size, learnt while listing
        self._lock = threading.Lock()
        self._lock_pid = os.getpid()
        self._client: Any = None
        self._client_pid: int | None = None
        if check:
            self.check()

    # ------------------------------------------------------------------ plumbing

    @property
    def label(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def __repr__(self) -> str:  # never shows the secret
        endpoint = f", endpoint_url={self.endpoint_url!r}" if self.endpoint_url else ""
        return f"S3Source({self.label!r}{endpoint})"

    def _where(self) -> str:
        return f"{self.label} (endpoint {self.endpoint_url})" if self.endpoint_url else self.label

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_client"] = None
        state["_client_pid"] = None
        state["_lock"] = state["_lock_pid"] = None
        state["_sizes"] = {}  # workers only open files; 100k sizes need not travel
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock, self._lock_pid = threading.Lock(), os.getpid()

    def _get_client(self) -> Any:  # a boto3 S3 client: boto3 has no type stubs here
        """This process's client; a forked child makes its own instead of sharing sockets."""
        pid = os.getpid()
        client = self._client
        if client is not None and self._client_pid == pid:
            return client
        if self._lock_pid != pid:  # a lock inherited through fork may be held by a thread that is gone
            self._lock, self._lock_pid = threading.Lock(), pid
        with self._lock:
            if self._client is None or self._client_pid != pid:
                self._client = self._make_client()
                self._client_pid = pid
            return self._client

    def _make_client(self) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            max_pool_connections=_MAX_CONNECTIONS,
            connect_timeout=_CONNECT_TIMEOUT,
            read_timeout=_READ_TIMEOUT,
            retries={"max_attempts": _MAX_ATTEMPTS, "mode": "standard"},
            # Many S3-compatible servers want path-style URLs and no flexible checksums.
            s3={"addressing_style": "path"} if self.endpoint_url else None,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # A session of our own: boto3's default session is not safe to share between threads.
        session = boto3.session.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self._secret_access_key,
            region_name=self.region,
        )
        try:
            client = session.client("s3", endpoint_url=self.endpoint_url, config=config)
        except ValueError as exc:  # e.g. an endpoint without http:// or https://
            raise InputError(f"endpoint {self.endpoint_url}", f"is not a valid endpoint URL: {exc}") from None
        except Exception as exc:
            raise self._error(exc, self._where()) from None
        if self.endpoint_policy is not None and self.endpoint_url:
            # Again before every request, where the connection is made: the name may have been
            # re-bound to another address since the source was checked.
            client.meta.events.register("before-send.s3", self._check_request)
        return client

    def _check_request(self, request: Any, **_: Any) -> None:
        assert self.endpoint_policy is not None
        self.endpoint_policy.check_request(request.url)

    def _key(self, relpath: str) -> str:
        rel = safe_relpath(relpath)
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def _error(self, exc: Exception, location: str) -> WinnowError:
        """The botocore exception ``exc`` as an error the user can act on.

        What an S3 server itself answered (no such bucket, wrong keys, access denied, another
        region) is named. Anything else (no connection, a timeout, a reset, a reply that is not
        S3's) is, for a policed custom endpoint, the one :data:`UNREACHABLE` message, with the
        details in the log; the operator's own sources (no policy, or AWS) get the details.
        """
        from botocore import exceptions as bex

        endpoint = self.endpoint_url or "the AWS S3 endpoint"
        policed = self.endpoint_policy is not None and self.endpoint_url is not None
        if isinstance(exc, WinnowError):
            return exc
        if isinstance(exc, bex.NoCredentialsError):
            return InputError(
                location,
                "no credentials: give access_key_id and secret_access_key, or configure AWS credentials "
                "(environment variables, ~/.aws/credentials or an instance role)",
            )
        if isinstance(exc, bex.ParamValidationError):
            return InputError(location, f"invalid request: {exc}")
        if isinstance(exc, bex.ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            detail = error.get("Message") or code or str(exc)
            # botocore makes the code the bare status when the reply held no S3 error document.
            spoke_s3 = bool(code) and not code.isdigit()
            if code in _NO_BUCKET_CODES:
                return InputError(location, f"bucket {self.bucket!r} does not exist on {endpoint}")
            if code in _CREDENTIAL_CODES:
                return InputError(location, f"wrong credentials: {_CREDENTIAL_CODES[code]} ({detail})")
            if spoke_s3 or not policed:
                if code in _DENIED_CODES or status == 403:
                    return InputError(
                        location,
                        f"access denied by {endpoint} ({detail}); check the credentials and the bucket's permissions",
                    )
                if code == "PermanentRedirect" or status == 301:
                    return InputError(location, f"the bucket is in another region; set region ({detail})")
                return InputError(location, f"S3 request failed: {code or status}: {detail}")
        if policed:
            logger.info("%s: %s: %s", location, type(exc).__name__, exc)
            return InputError(location, UNREACHABLE)
        if isinstance(exc, (bex.ConnectionError, bex.HTTPClientError)):
            return InputError(location, f"cannot reach {endpoint}: {exc}")
        if isinstance(exc, bex.BotoCoreError):
            return InputError(location, f"S3 request failed: {exc}")
        return InputError(location, f"S3 request failed: {type(exc).__name__}: {exc}")

    def _call(self, operation: str, location: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._get_client(), operation)(Bucket=self.bucket, **kwargs)
        except Exception as exc:
            raise self._error(exc, location) from None

    # ------------------------------------------------------------------ the interface

    def check(self) -> None:
        """Raise :class:`InputError` unless the prefix can be listed (bucket, credentials, endpoint)."""
        folder = f"{self.prefix}/" if self.prefix else ""
        self._call("list_objects_v2", self._where(), Prefix=folder, MaxKeys=1)

    def _list(self, folder_key: str, delimiter: str | None = None) -> tuple[list[tuple[str, int]], list[str]]:
        """``([(key, size)], [common prefix])`` of every object whose key starts with ``folder_key``."""
        kwargs: dict[str, Any] = {"Prefix": folder_key, "MaxKeys": self.page_size}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        objects: list[tuple[str, int]] = []
        folders: list[str] = []
        while True:
            page = self._call("list_objects_v2", self._where(), **kwargs)
            objects.extend((item["Key"], int(item.get("Size", 0))) for item in page.get("Contents", ()))
            folders.extend(item["Prefix"] for item in page.get("CommonPrefixes", ()))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return objects, folders
            kwargs["ContinuationToken"] = token

    def _relpaths(self, objects: list[tuple[str, int]], rejected: list[tuple[str, str]]) -> list[tuple[str, int]]:
        """Keys → clean relpaths; keys that are folder markers are dropped, unclean ones rejected."""
        strip = len(self.prefix) + 1 if self.prefix else 0
        found = []
        for key, size in objects:
            if key.endswith("/"):
                continue  # a "folder" placeholder made by consoles and some tools
            rel = key[strip:]
            try:
                clean = safe_relpath(rel)
            except UnsafePathError:
                clean = None
            if clean != rel or "\\" in rel:
                rejected.append((printable(rel), f"object key {key!r} is not a clean relative path and cannot be addressed"))
                continue
            problem = name_problem(rel)
            if problem is not None:
                rejected.append((printable(rel), problem))
                continue
            found.append((rel, size))
        return found

    def list_images(self) -> list[str]:
        # The top level first, with a delimiter, so hidden folders (.lightly/ holds one file per
        # image and task) are never listed; then every visible folder in full, in parallel.
        root = f"{self.prefix}/" if self.prefix else ""
        objects, folders = self._list(root, delimiter="/")
        visible = [f for f in folders if not f[len(root) :].startswith(".")]
        if visible:
            with ThreadPoolExecutor(min(self.io_threads, len(visible))) as pool:
                for listed, _ in pool.map(self._list, visible):
                    objects.extend(listed)
        rejected: list[tuple[str, str]] = []
        found = []
        sizes = {}
        for rel, size in self._relpaths(objects, rejected):
            if any(part.startswith(".") for part in rel.split("/")) or not is_image(rel):
                continue
            found.append(rel)
            sizes[rel] = size
        self.rejected = rejected
        self._sizes = sizes
        found.sort()
        return found

    def list_files(self, prefix: str) -> list[str]:
        objects, _ = self._list(self._key(prefix) + "/")
        listed = self._relpaths(objects, self.rejected)
        self._sizes.update(listed)  # readers check a JSON file's size before fetching it
        found = [rel for rel, _ in listed]
        found.sort()
        return found

    def open(self, relpath: str) -> BinaryIO:
        key = self._key(relpath)
        location = f"{self.label}/{safe_relpath(relpath)}"
        try:
            response = self._get_client().get_object(Bucket=self.bucket, Key=key)
            body = response["Body"]
            try:
                data = body.read()
            finally:
                body.close()
        except Exception as exc:
            if _is_missing(exc):
                raise InputError(location, "no such file in the bucket") from None
            raise self._error(exc, location) from None
        return io.BytesIO(data)

    def _head(self, relpath: str) -> dict[str, Any] | None:
        """HeadObject of ``relpath``, None when there is no such object."""
        key = self._key(relpath)
        try:
            head: dict[str, Any] = self._get_client().head_object(Bucket=self.bucket, Key=key)
            return head
        except Exception as exc:
            if _is_missing(exc):
                return None
            raise self._error(exc, f"s3://{self.bucket}/{key}") from None

    def exists(self, relpath: str) -> bool:
        rel = safe_relpath(relpath)
        if rel in self._sizes:
            return True
        return self._head(rel) is not None

    def size(self, relpath: str) -> int:
        rel = safe_relpath(relpath)
        if rel in self._sizes:
            return self._sizes[rel]
        head = self._head(rel)
        if head is None:
            raise InputError(f"{self.label}/{rel}", "no such file in the bucket")
        return int(head["ContentLength"])


def _is_missing(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in _MISSING_CODES or (status == 404 and code not in _NO_BUCKET_CODES)
