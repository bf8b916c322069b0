"""A user's S3 ``endpoint_url`` cannot make the server connect into its own network, and a failed
connection does not tell a closed port from an open one.

The rule lives in ``selection_engine.sources.endpoints.EndpointPolicy``; the web app gives the
deployment's policy (``WINNOW_S3_ALLOWED_ENDPOINTS`` / ``WINNOW_S3_ALLOWED_NETWORKS``, default:
public addresses only) to every S3 source, checked when the dataset is saved (form and API), at
every use (test connection, runs, thumbnails) and before every request the source sends.
Loopback listeners stand in for Redis, PostgreSQL and friends: none of them may see a connection.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import pickle
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from selection_engine.errors import ConfigError, InputError, WinnowError
from selection_engine.sources import EndpointPolicy, S3Source
from selection_engine.sources.s3 import UNREACHABLE
from webapp.datasets import services as dataset_services
from webapp.datasets.models import Dataset
from webapp.datasets.services import engine_source

REPO = Path(__file__).resolve().parents[2]
REFUSED = "is not an S3 endpoint this server may connect to"
KEYS = {"access_key_id": "AK", "secret_access_key": "SK"}


@contextlib.contextmanager
def listener():
    """A loopback TCP port that records whether anyone connected: ``(port, connected())``. It hangs
    up at once, so code that wrongly connects fails fast instead of waiting for a reply."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    seen: list[object] = []

    def accept() -> None:
        while True:
            try:
                conn, peer = sock.accept()
            except OSError:
                return
            seen.append(peer)
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield sock.getsockname()[1], lambda: bool(seen)
    finally:
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()


@pytest.fixture
def fake_dns(monkeypatch):
    """``names[host] = [addresses]`` makes ``host`` resolve so, for the policy and urllib3 alike."""
    names: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            answer = names[host]
            addresses = answer.pop(0) if answer and isinstance(answer[0], list) else answer
            if not addresses:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, int(port or 0), 0, 0) if ":" in a else (a, int(port or 0)))
                for a in addresses
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def refused_message(policy: EndpointPolicy, url: str) -> str:
    with pytest.raises(ConfigError) as caught:
        policy.check(url)
    assert caught.value.key == "datasource.endpoint_url"
    return caught.value.reason


# ---------------------------------------------------------------- the rule, by default


INTERNAL = [
    "http://127.0.0.1:6379",  # Redis
    "http://127.0.0.1:5432",  # PostgreSQL
    "http://localhost:9000",
    "http://LOCALHOST.:9000",
    "http://[::1]:9000",
    "http://0.0.0.0:80",
    "http://0:80",
    "http://2130706433/",  # 127.0.0.1 in decimal
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://10.0.0.1:9000",
    "http://172.16.0.1:9000",
    "http://172.31.255.254:9000",
    "http://192.168.1.1:9000",
    "http://100.64.0.1:9000",  # carrier-grade NAT
    "http://198.18.0.1:9000",
    "http://224.0.0.1:9000",  # multicast
    "http://255.255.255.255:9000",
    "https://127.0.0.1:443",
    "http://[::ffff:127.0.0.1]:9000",  # IPv4-mapped
    "http://[::ffff:7f00:1]:9000",
    "http://[::127.0.0.1]:9000",  # IPv4-compatible
    "http://[2002:7f00:1::]:9000",  # 6to4 of 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]:9000",  # NAT64 of 169.254.169.254
    "http://[64:ff9b:1::1]:9000",  # local-use NAT64
    "http://[fe80::1]:9000",
    "http://[fc00::1]:9000",
    "http://[fd00:ec2::254]/",  # AWS's IPv6 metadata endpoint
    "http://[::]:9000",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_the_default_refuses_loopback_private_link_local_and_reserved_addresses(url):
    assert REFUSED in refused_message(EndpointPolicy(), url)


def test_a_name_is_judged_by_every_address_it_resolves_to(fake_dns):
    fake_dns["s3.attacker.example"] = ["127.0.0.1"]
    fake_dns["mixed.example"] = ["93.184.216.34", "10.0.0.7"]
    fake_dns["v6.example"] = ["::1"]
    fake_dns["s3.example.com"] = ["93.184.216.34", "2606:2800:220:1::1"]
    for url in ("http://s3.attacker.example:9000", "https://mixed.example", "http://v6.example"):
        assert REFUSED in refused_message(EndpointPolicy(), url)
    EndpointPolicy().check("https://s3.example.com")  # public: allowed


def test_a_refusal_does_not_say_whether_or_where_a_name_resolved(fake_dns):
    """Otherwise the check itself would be a DNS oracle on the server's network."""
    fake_dns["redis.internal"] = ["10.0.0.7"]
    fake_dns["nothing.internal"] = []
    private = refused_message(EndpointPolicy(), "http://redis.internal:6379")
    missing = refused_message(EndpointPolicy(), "http://nothing.internal:6379")
    assert private.replace("redis", "X") == missing.replace("nothing", "X")
    assert "10.0.0.7" not in private


@pytest.mark.parametrize("url, message", [
    ("file:///etc/passwd", "must start with http:// or https://"),
    ("ftp://s3.example.com", "must start with http:// or https://"),
    ("gopher://127.0.0.1:6379/_INFO", "must start with http:// or https://"),
    ("localhost:9000", "must start with http:// or https://"),
    ("//127.0.0.1:9000", "must start with http:// or https://"),
    ("http://user:secret@s3.example.com", "must not hold a user name or password"),
    ("http://s3.example.com@127.0.0.1:6379", "must not hold a user name or password"),
    ("http://s3.example.com\\@127.0.0.1", "must not hold a user name"),
    ("http://s3.example.com\\.127.0.0.1", "is not a host name"),
    ("http://s3.example.com/?x=1", "must not have a query or a fragment"),
    ("http://s3.example.com#@127.0.0.1", "must not have a query or a fragment"),
    ("http://s3.example.com:99999", "invalid port"),
    ("http://s3.example.com:9000\r\nX-Injected: 1", "spaces or control characters"),
    ("http:// s3.example.com", "spaces or control characters"),
    ("http://[fe80::1%25eth0]:9000", "is not a host name"),
    ("http://", "is not a host name"),
])
def test_only_plain_http_and_https_urls_are_endpoints(url, message):
    assert message in refused_message(EndpointPolicy(), url)


def test_no_endpoint_is_aws_and_always_allowed():
    EndpointPolicy().check(None)
    EndpointPolicy().check("")
    EndpointPolicy(endpoints=("http://minio:9000",)).check(None)
    EndpointPolicy().check("https://8.8.8.8")  # a public address needs no name service


# ---------------------------------------------------------------- the operator's settings


def test_listed_endpoints_are_allowed_wherever_they_point(fake_dns):
    fake_dns["minio"] = ["172.18.0.5"]
    policy = EndpointPolicy.parse("http://minio:9000, storage.lan")
    policy.check("http://minio:9000")
    policy.check("http://MINIO:9000/")
    policy.check("https://storage.lan:8443")  # a bare host name: any scheme and port
    for url in ("http://minio:9001", "https://minio:9000", "http://minio"):
        assert REFUSED in refused_message(policy, url)


def test_without_public_only_the_listed_endpoints_are_allowed(fake_dns):
    fake_dns["s3.example.com"] = ["93.184.216.34"]
    EndpointPolicy.parse("public").check("https://s3.example.com")
    assert REFUSED in refused_message(EndpointPolicy.parse("http://minio:9000"), "https://s3.example.com")


def test_allowed_networks_admit_private_addresses_in_them(fake_dns):
    fake_dns["local-minio"] = ["127.0.0.1", "::1"]
    policy = EndpointPolicy.parse("public", "127.0.0.0/8, ::1/128 10.1.0.0/16")
    for url in ("http://127.0.0.1:9000", "http://[::1]:9000", "http://local-minio:9000", "http://10.1.2.3",
                "http://[::ffff:127.0.0.1]:9000"):
        policy.check(url)
    for url in ("http://10.2.0.1", "http://169.254.169.254", "http://192.168.1.1"):
        assert REFUSED in refused_message(policy, url)


@pytest.mark.parametrize("endpoints, networks, bad", [
    ("public", "10.0.0.0/33", "10.0.0.0/33"),
    ("public", "redis", "redis"),
    ("ftp://minio:21", "", "ftp://minio:21"),
    ("http://user@minio:9000", "", "http://user@minio:9000"),
])
def test_a_bad_setting_is_an_error_naming_the_entry(endpoints, networks, bad):
    with pytest.raises(ValueError, match=bad.replace("/", ".")):
        EndpointPolicy.parse(endpoints, networks)


def test_a_bad_setting_stops_the_server_from_starting():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "webapp.settings", "WINNOW_S3_ALLOWED_NETWORKS": "10.0.0.0/33",
           "SECRET_KEY": "x" * 50}
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and "WINNOW_S3_ALLOWED_NETWORKS" in done.stderr and "10.0.0.0/33" in done.stderr


def test_the_deployment_default_is_public_endpoints_only(settings):
    assert EndpointPolicy.parse("public", "") == settings.S3_ENDPOINT_POLICY


# ---------------------------------------------------------------- where connections are made


def test_a_policed_source_refuses_before_connecting():
    with listener() as (port, connected):
        with pytest.raises(ConfigError, match=REFUSED):
            S3Source("b", endpoint_url=f"http://127.0.0.1:{port}", endpoint_policy=EndpointPolicy(), **KEYS)
        assert not connected()


def test_a_name_rebound_after_the_check_is_refused_at_the_request(fake_dns):
    """DNS re-binding: public when the source is made, loopback when it sends a request."""
    with listener() as (port, connected):
        fake_dns["rebind.example"] = [["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"], ["127.0.0.1"]]
        source = S3Source("b", endpoint_url=f"http://rebind.example:{port}", endpoint_policy=EndpointPolicy(),
                          check=False, **KEYS)
        with pytest.raises(WinnowError, match=REFUSED):
            source.list_images()
        assert not connected(), "the request reached the loopback address the name was re-bound to"


def test_a_source_pickled_into_a_loader_worker_keeps_its_policy(fake_dns):
    with listener() as (port, connected):
        fake_dns["rebind.example"] = [["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"], ["127.0.0.1"]]
        source = S3Source("b", endpoint_url=f"http://rebind.example:{port}", endpoint_policy=EndpointPolicy(),
                          check=False, **KEYS)
        worker_copy = pickle.loads(pickle.dumps(source))  # what a DataLoader worker gets
        with pytest.raises(WinnowError, match=REFUSED):
            worker_copy.read_bytes("a.png")
        assert not connected()


# ---------------------------------------------------------------- the pages and the API


def test_the_form_refuses_an_internal_endpoint_on_its_field(alice_client, root):
    with listener() as (port, connected):
        response = alice_client.post("/datasets/new/", {
            "name": "Scan", "source_type": "s3", "bucket": "photos", "endpoint_url": f"http://127.0.0.1:{port}", **KEYS,
        })
        assert response.status_code == 200
        assert REFUSED in str(response.context["form"].errors["endpoint_url"])
        assert not connected()
    assert not Dataset.objects.filter(name="Scan").exists()


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}", "http://[::1]:{port}", "http://localhost:{port}",
                                 "http://2130706433:{port}", "http://0.0.0.0:{port}", "http://169.254.169.254/",
                                 "http://10.0.0.1:{port}", "http://172.16.0.1:{port}", "http://192.168.0.1:{port}",
                                 "file:///etc/passwd"])
def test_the_api_refuses_internal_endpoints_as_400_naming_the_key(alice_api, root, url):
    with listener() as (port, connected):
        datasource = {"type": "s3", "bucket": "photos", "endpoint_url": url.format(port=port), **KEYS}
        response = alice_api.post("/api/v1/datasets/", {"name": "Scan", "datasource": datasource}, format="json")
        assert response.status_code == 400, response.json()
        assert "datasource.endpoint_url" in response.json()["errors"], response.json()
        assert not connected()
    assert not Dataset.objects.exists()


def test_re_pointing_a_dataset_through_the_api_is_checked_too(alice_api, dataset):
    response = alice_api.put(f"/api/v1/datasets/{dataset.pk}/datasource/",
                             {"type": "s3", "bucket": "b", "endpoint_url": "http://127.0.0.1:6379"}, format="json")
    assert response.status_code == 400 and "datasource.endpoint_url" in response.json()["errors"]
    dataset.refresh_from_db()
    assert dataset.source_type == Dataset.LOCAL


def test_a_stored_internal_endpoint_is_refused_at_every_use(alice, alice_client, alice_api):
    """Saved before the policy (or under a looser one): testing it, runs and thumbnails refuse it."""
    with listener() as (port, connected):
        dataset = Dataset.objects.create(owner=alice, name="Old", source_type=Dataset.S3, bucket="photos",
                                         endpoint_url=f"http://127.0.0.1:{port}", **KEYS)
        report = dataset_services.test_connection(dataset)
        assert not report.ok and REFUSED in report.error
        with pytest.raises(ConfigError, match=REFUSED):
            engine_source(dataset)  # what runs, evaluations and thumbnails read through
        body = alice_api.post(f"/api/v1/datasets/{dataset.pk}/datasource/test/").json()
        assert body["ok"] is False and REFUSED in body["error"]
        assert REFUSED in alice_client.post(f"/datasets/{dataset.pk}/test/").content.decode()
        assert not connected()


# ---------------------------------------------------------------- errors that do not tell what answered


class _NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html>nginx: 404 Not Found</html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def lookalikes():
    """Loopback ports: one closed, one where a Redis-like server answers garbage and hangs up, one
    that accepts and closes at once, one with a web server that is not S3."""
    threads, socks = [], []

    def serve_raw(reply: bytes):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        socks.append(sock)

        def loop():
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    return
                with conn:
                    conn.recv(65536)
                    if reply:
                        conn.sendall(reply)
        threads.append(threading.Thread(target=loop, daemon=True))
        threads[-1].start()
        return sock.getsockname()[1]

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        yield {
            "closed": closed_port,
            "redis": serve_raw(b"-ERR wrong number of arguments for 'get' command\r\n"),
            "hangs up": serve_raw(b""),
            "web server": web.server_address[1],
        }
    finally:
        web.shutdown()
        web.server_close()
        for sock in socks:
            sock.close()


def test_closed_and_open_ports_give_the_same_error():
    policy = EndpointPolicy.parse("public", "127.0.0.0/8")  # an operator allowing a loopback MinIO
    with lookalikes() as ports:
        messages = {}
        for name, port in ports.items():
            url = f"http://127.0.0.1:{port}"
            with pytest.raises(InputError) as caught:
                S3Source("photos", endpoint_url=url, endpoint_policy=policy, **KEYS)
            messages[name] = caught.value.reason
        assert set(messages.values()) == {UNREACHABLE}, messages


def test_the_pages_show_the_same_error_for_closed_and_open_ports(alice_client, root, settings):
    settings.S3_ENDPOINT_POLICY = EndpointPolicy.parse("public", "127.0.0.0/8")
    with lookalikes() as ports:
        texts = set()
        for name, port in ports.items():
            response = alice_client.post("/datasets/new/", {
                "name": name, "source_type": "s3", "bucket": "photos", "endpoint_url": f"http://127.0.0.1:{port}",
                **KEYS,
            })
            errors = response.context["form"].errors
            texts.add(" ".join(str(e) for e in errors.values()))
        assert len(texts) == 1 and UNREACHABLE in texts.pop()
    assert not Dataset.objects.exists()


# ---------------------------------------------------------------- the operator's MinIO still works


moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed: no S3 server to test against")
from tests.integration.test_s3_source import REGION, new_bucket, server  # noqa: E402,F401  (fixture)


def test_an_allowed_loopback_endpoint_works_end_to_end(alice_api, root, settings, server):
    endpoint, admin = server
    bucket = new_bucket(admin, {"a/one.png": b"png", "two.jpg": b"jpg"})
    datasource = {"type": "s3", "bucket": bucket, "endpoint_url": endpoint, "region": REGION,
                  "access_key_id": "testing-key", "secret_access_key": "testing-secret"}
    response = alice_api.post("/api/v1/datasets/", {"name": "Minio", "datasource": datasource}, format="json")
    assert response.status_code == 400 and "datasource.endpoint_url" in response.json()["errors"]  # the default
    settings.S3_ENDPOINT_POLICY = EndpointPolicy.parse("public", "127.0.0.0/8")
    response = alice_api.post("/api/v1/datasets/", {"name": "Minio", "datasource": datasource}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["image_count"] == 2
    settings.S3_ENDPOINT_POLICY = EndpointPolicy.parse(endpoint)  # listed by URL, no networks
    dataset = Dataset.objects.get(name="Minio")
    assert engine_source(dataset).list_images() == ["a/one.png", "two.jpg"]
