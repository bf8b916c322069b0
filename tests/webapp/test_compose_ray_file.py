"""compose.ray.yaml agrees with compose.yaml, the image and the code: the Ray head and workers are
roles of the one image (built with the distributed extra), the django-q2 worker drives runs on the
head, every node reads the datasources where the web app does, and the cluster needs its token."""

import re
import subprocess
import sys
import tomllib

import pytest
import yaml

from .test_compose_file import ROOT, mount_target, variables_read_by_the_code

WINNOW_SERVICES = ("web", "worker", "ray-head", "ray-worker")
RAY_NODES = ("ray-head", "ray-worker")
#: What Ray itself reads on every node: token authentication (a shared secret).
RAY_VARIABLES = {"RAY_AUTH_MODE", "RAY_AUTH_TOKEN"}


@pytest.fixture(scope="module")
def base():
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def ray():
    return yaml.safe_load((ROOT / "compose.ray.yaml").read_text())


def entrypoint_variables() -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "docker/entrypoint.sh").read_text()))


def test_the_ray_nodes_are_roles_of_the_one_image_built_with_ray(ray, base):
    entrypoint = (ROOT / "docker/entrypoint.sh").read_text()
    roles = set(re.findall(r"^\s{4}([a-z][a-z-]*)\)$", entrypoint, re.MULTILINE))
    for name in RAY_NODES:
        assert ray["services"][name]["command"] == [name] and name in roles
        assert ray["services"][name]["image"] == base["services"]["web"]["image"]
    dockerfile_args = set(re.findall(r"^ARG ([A-Z_]+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for name in WINNOW_SERVICES:  # one image for all: web and worker are rebuilt with Ray too
        build = ray["services"][name]["build"]
        assert build["args"]["EXTRAS"] == "distributed" and set(build["args"]) <= dockerfile_args
    assert any(requirement.startswith("ray[data]==") for requirement in extras["distributed"])
    listed = subprocess.run([sys.executable, str(ROOT / "docker/requirements.py"), "--extras", "distributed"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert set(extras["distributed"]) <= set(listed)


def test_the_worker_and_the_ray_workers_find_the_head(ray):
    services = ray["services"]
    head_port = services["ray-head"]["environment"]["WINNOW_RAY_PORT"]
    assert services["worker"]["environment"]["WINNOW_RAY_ADDRESS"] == f"ray-head:{head_port}"
    assert services["ray-worker"]["environment"]["WINNOW_RAY_HEAD"] == f"ray-head:{head_port}"
    assert head_port in " ".join(services["ray-head"]["healthcheck"]["test"])
    for name in ("worker", "ray-worker"):
        assert services[name]["depends_on"]["ray-head"] == {"condition": "service_healthy"}


def test_every_variable_is_read_by_the_code_the_entrypoint_or_ray(ray):
    known = variables_read_by_the_code() | entrypoint_variables() | RAY_VARIABLES
    for name in ("worker", *RAY_NODES):
        unknown = sorted(set(ray["services"][name]["environment"]) - known)
        assert not unknown, f"{name}: {unknown} are read by nothing"


def test_every_node_and_the_driver_share_the_token(ray):
    for name in ("worker", *RAY_NODES):
        environment = ray["services"][name]["environment"]
        assert environment["RAY_AUTH_MODE"] == "token"
        assert environment["RAY_AUTH_TOKEN"].startswith("${RAY_AUTH_TOKEN:?"), "required, from .env"
    assert re.search(r"^#?RAY_AUTH_TOKEN=", (ROOT / ".env.example").read_text(), re.MULTILINE)


def test_every_ray_node_reads_the_datasources_where_the_web_app_does(ray, base):
    roots = base["services"]["worker"]["environment"]["WINNOW_DATASOURCE_ROOTS"].split(":")
    worker_mounts = {mount_target(volume): volume for volume in base["services"]["worker"]["volumes"]}
    for name in RAY_NODES:
        mounts = {mount_target(volume): volume for volume in ray["services"][name]["volumes"]}
        for root in roots:
            assert mounts[root] == worker_mounts[root] and mounts[root].endswith(":ro")
