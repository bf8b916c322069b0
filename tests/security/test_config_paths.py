"""Path-valued config keys stay inside the user's own folder (issue 14, case 1).

Alice has a completed run; Bob, on his own dataset, names Alice's run directory or files through
every path-valued key (a SIMILARITY strategy's ``run``, the worker's file keys, the datapool), by
absolute path, ``..`` in its spellings, or a symlink in his own folder that points out. Each is a
400 / form error naming the key, and nothing is queued or saved. His own run still works.
"""

from __future__ import annotations

import json

import pytest

from webapp.datadir import runs_dir, user_dir
from webapp.runs.models import Preset, Run

from .conftest import SMALL_MODEL, make_dataset

RUN_KEY = "selection_config.strategies[0].input.run"


def similarity(run: str) -> dict:
    return {"n_samples": 3, "strategies": [{"input": {"type": "EMBEDDINGS", "run": run}, "strategy": {"type": "SIMILARITY"}}]}


@pytest.fixture
def bob_dataset(bob, images):
    return make_dataset(bob, images[0], name="Bob's animals")


@pytest.fixture
def alice_run_dir(completed_run):
    path = runs_dir(completed_run.owner_id) / f"run-{completed_run.pk}"
    assert (path / "data/selected_embeddings.csv").is_file()
    return path


def schedule(api, dataset, **documents):
    return api.post("/api/v1/runs/", {"dataset": dataset.pk, **documents}, format="json")


def escapes(alice, run_dir):
    """The spellings of Alice's run directory as seen from Bob's runs folder."""
    other = f"../../{alice.pk}/runs/{run_dir.name}"
    return [
        str(run_dir),  # absolute
        other,  # relative, through ..
        f"./{other}",
        f"{run_dir.name}/../../../{alice.pk}/runs/{run_dir.name}",
        other.replace("/", "\\"),  # Windows separators
        f"//{run_dir}",
    ]


def test_a_similarity_run_of_another_user_is_refused(bob_api, bob, bob_dataset, alice, alice_run_dir):
    for value in escapes(alice, alice_run_dir):
        response = schedule(bob_api, bob_dataset, selection_config=similarity(value))
        assert response.status_code == 400, (value, response.json())
        body = response.json()
        assert RUN_KEY in body["errors"], (value, body)
        assert body["detail"].startswith(RUN_KEY), body
    assert not Run.objects.filter(owner=bob).exists()


def test_percent_encoded_dots_are_not_a_way_out(bob_api, bob, bob_dataset, alice, alice_run_dir):
    for value in (f"%2e%2e/%2e%2e/{alice.pk}/runs/{alice_run_dir.name}", f"..%2f..%2f{alice.pk}%2fruns%2f{alice_run_dir.name}"):
        response = schedule(bob_api, bob_dataset, selection_config=similarity(value))
        assert response.status_code == 400 and RUN_KEY in response.json()["errors"], value
    assert not Run.objects.filter(owner=bob).exists()


def test_a_symlink_in_your_folder_pointing_out_is_refused(bob_api, bob, bob_dataset, alice_run_dir):
    mine = runs_dir(bob.pk)
    mine.mkdir(parents=True)
    (mine / "borrowed").symlink_to(alice_run_dir, target_is_directory=True)
    response = schedule(bob_api, bob_dataset, selection_config=similarity("borrowed"))
    assert response.status_code == 400, response.json()
    assert "outside your folder" in response.json()["errors"][RUN_KEY]
    assert not Run.objects.filter(owner=bob).exists()


def test_the_query_run_must_be_a_run_directory_in_your_folder(bob_api, bob, bob_dataset):
    response = schedule(bob_api, bob_dataset, selection_config=similarity("run-999"))
    assert response.status_code == 400
    assert "no run directory runs/run-999 in your folder" in response.json()["errors"][RUN_KEY]


def test_your_own_earlier_run_is_accepted_and_queries_the_run(alice_api, dataset, completed_run, alice_run_dir):
    from webapp.runs.tasks import execute_run

    response = schedule(alice_api, dataset, selection_config=similarity(alice_run_dir.name), lightly_config=SMALL_MODEL)
    assert response.status_code == 201, response.json()
    run = Run.objects.get(pk=response.json()["id"])
    assert execute_run(run.pk) == "completed", Run.objects.get(pk=run.pk).error


def test_the_wizard_review_refuses_another_users_run(client, bob, bob_dataset, alice, alice_run_dir):
    client.force_login(bob)
    client.post("/runs/new/dataset/", {"dataset": bob_dataset.pk, "action": "next"})
    for action, extra in (("queue", {}), ("preset", {"preset_name": "stolen"})):
        response = client.post("/runs/new/review/", {
            "worker_config": "{}", "lightly_config": "{}", "action": action, **extra,
            "selection_config": json.dumps(similarity(f"../../{alice.pk}/runs/{alice_run_dir.name}")),
        })
        assert response.status_code == 200, action
        assert f"{RUN_KEY}: must be a path relative to your folder" in response.content.decode(), action
    assert not Run.objects.filter(owner=bob).exists()
    assert not Preset.objects.filter(owner=bob).exists()


@pytest.mark.parametrize("key", ["embeddings", "checkpoint", "relevant_filenames_file", "labeled_filenames_file"])
def test_a_file_key_through_a_symlink_pointing_out_is_refused(bob_api, bob, bob_dataset, alice, root, key):
    secret = user_dir(alice.pk) / "secret.txt"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("alice's\n")
    mine = user_dir(bob.pk)
    mine.mkdir(parents=True, exist_ok=True)
    (mine / "link.txt").symlink_to(secret)
    response = schedule(bob_api, bob_dataset, worker_config={key: "link.txt", "stopping_condition": {"n_samples": 3}})
    assert response.status_code == 400, response.json()
    assert "outside your folder" in response.json()["errors"][key]
    for value in (str(secret), f"../{alice.pk}/secret.txt", f"./../{alice.pk}/secret.txt"):
        response = schedule(bob_api, bob_dataset, worker_config={key: value, "stopping_condition": {"n_samples": 3}})
        assert response.status_code == 400 and key in response.json()["errors"], (key, value)
    assert not Run.objects.filter(owner=bob).exists()


def test_a_datapool_folder_that_is_a_symlink_pointing_out_is_refused(bob_api, bob, bob_dataset, alice):
    theirs = user_dir(alice.pk) / "datapools" / "pool"
    theirs.mkdir(parents=True)
    mine = user_dir(bob.pk) / "datapools"
    mine.mkdir(parents=True)
    (mine / "pool").symlink_to(theirs, target_is_directory=True)
    response = schedule(bob_api, bob_dataset, worker_config={"datapool": {"name": "pool"}, "stopping_condition": {"n_samples": 3}})
    assert response.status_code == 400, response.json()
    assert "outside your folder" in response.json()["errors"]["datapool.name"]
    assert not Run.objects.filter(owner=bob).exists()


def test_a_selection_config_given_as_a_file_path_is_refused(bob_api, bob, bob_dataset, alice):
    response = schedule(bob_api, bob_dataset, selection_config=f"../{alice.pk}/selection.json")
    assert response.status_code == 400 and "selection_config" in response.json()["errors"]
    assert not Run.objects.filter(owner=bob).exists()


def test_a_stored_run_naming_another_users_run_fails_when_it_runs(bob, bob_dataset, alice, alice_run_dir):
    """A run queued before the check (or edited in the database) is checked again by the worker."""
    from webapp.runs.tasks import execute_run

    run = Run.objects.create(owner=bob, dataset=bob_dataset, worker_config={}, lightly_config={},
                             selection_config=similarity(str(alice_run_dir)))
    assert execute_run(run.pk) == "failed"
    run.refresh_from_db()
    assert RUN_KEY in run.error
    assert not run.samples.exists()
