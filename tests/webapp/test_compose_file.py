"""compose.yaml, .env.example and the image agree with the code: services, roles, start order, and
environment variables that webapp/settings.py (or the engine) really reads."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WINNOW_SERVICES = ("web", "worker")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def variables_read_by_the_code() -> set[str]:
    """Every environment variable name that webapp/ and selection_engine/ read: os.environ.get("X"),
    os.environ["X"], settings' _flag("X"), and os.environ.get(CONSTANT) with CONSTANT = "X"."""
    names = set()
    for path in [*(ROOT / "webapp").rglob("*.py"), *(ROOT / "selection_engine").rglob("*.py")]:
        text = path.read_text()
        names |= set(re.findall(r'os\.environ(?:\.get\(|\[)\s*"([A-Z][A-Z0-9_]*)"', text))
        names |= set(re.findall(r'\b_flag\(\s*"([A-Z][A-Z0-9_]*)"', text))
        for constant in re.findall(r"os\.environ(?:\.get\(|\[)\s*([A-Z][A-Z0-9_]*)\s*[,)\]]", text):
            names |= set(re.findall(rf'^{constant}\s*=\s*"([A-Z][A-Z0-9_]*)"', text, re.MULTILINE))
    return names


def mount_target(volume: str) -> str:
    """The container path of a short-syntax volume, SOURCE:TARGET[:MODE] (SOURCE may hold ${X:-Y})."""
    parts = volume.rsplit(":", 2)
    return parts[-2] if parts[-1] in ("ro", "rw") else parts[-1]


def test_the_reader_finds_the_settings_each_way_they_are_read():
    names = variables_read_by_the_code()
    # os.environ.get / os.environ[...] / _flag / a constant (selection_engine/formats/jsondoc.py)
    assert {"DATABASE_URL", "SECRET_KEY", "DEBUG", "WINNOW_MAX_PREDICTION_FILE_MB", "WINNOW_ADMIN_PASSWORD"} <= names


def test_the_services_and_their_roles(compose):
    assert set(compose["services"]) == {"db", "redis", "web", "worker"}
    entrypoint = (ROOT / "docker/entrypoint.sh").read_text()
    roles = set(re.findall(r"^\s{4}([a-z]+)\)$", entrypoint, re.MULTILINE))
    for name in WINNOW_SERVICES:
        service = compose["services"][name]
        assert service["command"] == [name]
        assert name in roles, f"docker/entrypoint.sh has no '{name})' role"
        assert service["image"].startswith("${WINNOW_IMAGE")
        assert service["build"]["context"] == "."


def test_only_variables_the_code_reads(compose):
    known = variables_read_by_the_code()
    for name in WINNOW_SERVICES:
        environment = compose["services"][name]["environment"]
        unknown = sorted(set(environment) - known)
        assert not unknown, f"{name}: {unknown} are read by nothing in webapp/ or selection_engine/"


def test_the_paths_in_the_environment_are_the_mounts(compose):
    for name in WINNOW_SERVICES:
        service = compose["services"][name]
        mounts = {mount_target(volume): volume for volume in service["volumes"]}
        environment = service["environment"]
        assert mounts[environment["WINNOW_DATA_DIR"]].startswith("winnow-data:")
        for root in environment["WINNOW_DATASOURCE_ROOTS"].split(":"):
            assert mounts[root].endswith(":ro"), "datasources are mounted read-only"
        assert environment["DATABASE_URL"].startswith("postgres://") and "@db:5432/" in environment["DATABASE_URL"]
        assert environment["WINNOW_BROKER"] == "redis://redis:6379/0"
    assert set(compose["volumes"]) == {"winnow-data", "postgres-data"}


def test_start_order_waits_for_health(compose):
    services = compose["services"]
    for name in ("db", "redis"):
        assert services[name]["healthcheck"]["test"]
    assert services["web"]["depends_on"] == {
        "db": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"}}
    # The worker starts once the web container has migrated the database.
    assert services["worker"]["depends_on"]["web"] == {"condition": "service_healthy"}
    assert services["worker"]["healthcheck"] == {"disable": True}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^HEALTHCHECK .*\n?.*docker/healthcheck\.py", dockerfile, re.MULTILINE)
    assert "/healthz" in (ROOT / "docker/healthcheck.py").read_text()


def test_the_published_port_is_the_web_servers(compose):
    web = compose["services"]["web"]
    (published,) = web["ports"]
    assert published.rsplit(":", 1)[1] == web["environment"]["WINNOW_PORT"]
    assert f"EXPOSE {web['environment']['WINNOW_PORT']}" in (ROOT / "Dockerfile").read_text()


def test_env_example_documents_every_variable_compose_takes(compose):
    # compose.yaml's, and those of its Ray variant beside it (compose.ray.yaml).
    text = (ROOT / "compose.yaml").read_text() + (ROOT / "compose.ray.yaml").read_text()
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    passed_through = {
        key for name in WINNOW_SERVICES for key, value in compose["services"][name]["environment"].items() if value is None
    }
    example = set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert interpolated | passed_through == example
    args = set(re.findall(r"^ARG ([A-Z_]+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    for name in WINNOW_SERVICES:
        assert set(compose["services"][name]["build"].get("args", {})) <= args
