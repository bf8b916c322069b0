"""Runs through the API: schedule with the worker's config dicts (validated by the engine, 400
naming the key), state and progress, cancel, re-run (of finished runs only); other users' runs are 404."""

import pytest

from webapp.runs.models import Run

from .conftest import CORAL, SMALL_MODEL, TASK


def test_schedule_a_run_with_the_worker_configs(alice_api, dataset):
    response = alice_api.post("/api/v1/runs/", {"dataset": dataset.pk, "worker_config": CORAL, "lightly_config": SMALL_MODEL,
                                                "selection_config": None}, format="json")
    assert response.status_code == 201, response.json()
    run = response.json()
    assert run["state"] == "queued" and run["worker_config"] == CORAL and run["lightly_config"] == SMALL_MODEL
    assert run["primary_score"] == f"{TASK}/uncertainty_margin"
    got = alice_api.get(f"/api/v1/runs/{run['id']}/").json()
    assert {"state", "stage", "progress_done", "progress_total", "fraction_done", "log_tail", "error"} <= set(got)
    assert alice_api.get("/api/v1/runs/", {"dataset": dataset.pk, "state": "queued"}).json()["count"] == 1
    assert alice_api.get("/api/v1/runs/", {"state": "completed"}).json()["count"] == 0


def test_a_selection_config_is_accepted(alice_api, dataset):
    selection = {"n_samples": 5, "strategies": [
        {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}},
        {"input": {"type": "SCORES", "task": TASK, "score": "uncertainty_entropy"}, "strategy": {"type": "WEIGHTS"}}]}
    response = alice_api.post("/api/v1/runs/", {"dataset": dataset.pk, "selection_config": selection}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["primary_score"] == f"{TASK}/uncertainty_entropy"


STOP = {"stopping_condition": {"n_samples": 3}}


@pytest.mark.parametrize("body, key, message", [
    ({"worker_config": {"stoping_condition": {"n_samples": 3}}}, "stoping_condition", "did you mean stopping_condition.n_samples"),
    ({"lightly_config": {"loader": {"batch_sise": 8}}}, "lightly.loader.batch_sise", "did you mean lightly.loader.batch_size"),
    ({"worker_config": {"method": "coral", "stopping_condition": {"n_samples": 3}, "active_learning": {"task_name": "nope"}}}, "active_learning.task_name", "has no task 'nope'"),
    ({"worker_config": "coral"}, "worker_config", "must be a JSON object"),
    ({"selection_config": {"n_samples": 3, "strategies": [{"input": {"type": "X"}, "strategy": {"type": "DIVERSITY"}}]}},
     "selection_config.strategies[0].input.type", "must be one of"),
    # path keys are checked once the documents are valid otherwise (here: a stopping condition)
    ({"worker_config": {"embeddings": "/etc/passwd", **STOP}}, "embeddings", "relative to your folder"),
    ({"worker_config": {"labeled_filenames_file": "../../2/labeled/tag-1.txt", **STOP}}, "labeled_filenames_file", "relative to your folder"),
    ({"worker_config": {"labeled_filenames_file": "a/" * 3000 + "x", **STOP}}, "labeled_filenames_file", "no file a/a/a/"),
    ({"worker_config": {"checkpoint": "x" * 5000, **STOP}}, "checkpoint", "no file xxx"),
])
def test_bad_configs_are_400_with_the_engines_message_per_key(alice_api, dataset, body, key, message):
    response = alice_api.post("/api/v1/runs/", {"dataset": dataset.pk, **body}, format="json")
    assert response.status_code == 400
    assert message in response.json()["errors"][key], response.json()
    assert key in response.json()["detail"]
    assert not Run.objects.exists()


def test_a_run_on_someone_elses_or_no_dataset_is_400(bob_api, dataset):
    for pk in (dataset.pk, 999, -3):
        response = bob_api.post("/api/v1/runs/", {"dataset": pk, "worker_config": {}}, format="json")
        assert response.status_code == 400 and "dataset" in response.json()["errors"]
    assert bob_api.post("/api/v1/runs/", {"worker_config": {}}, format="json").json()["errors"]["dataset"]
    assert not Run.objects.exists()


def test_cancel_and_rerun(alice_api, dataset):
    run = alice_api.post("/api/v1/runs/", {"dataset": dataset.pk, "worker_config": CORAL}, format="json").json()
    canceled = alice_api.post(f"/api/v1/runs/{run['id']}/cancel/").json()
    assert canceled["detail"] == "Canceled." and canceled["run"]["state"] == "canceled" and canceled["run"]["finished"]
    assert "already canceled" in alice_api.post(f"/api/v1/runs/{run['id']}/cancel/").json()["detail"]
    again = alice_api.post(f"/api/v1/runs/{run['id']}/rerun/")
    assert again.status_code == 201 and again.json()["rerun_of"] == run["id"] and again.json()["state"] == "queued"


def test_a_run_that_has_not_finished_is_not_rerun(alice_api, dataset):
    run = alice_api.post("/api/v1/runs/", {"dataset": dataset.pk, "worker_config": CORAL}, format="json").json()
    response = alice_api.post(f"/api/v1/runs/{run['id']}/rerun/")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "state": f"run {run['id']} is still queued: re-run it once it has finished, or cancel it first"}
    assert Run.objects.count() == 1


def test_bad_list_filters_are_400(alice_api, dataset):
    assert "state" in alice_api.get("/api/v1/runs/", {"state": "sleeping"}).json()["errors"]
    assert "dataset" in alice_api.get("/api/v1/runs/", {"dataset": "x"}).json()["errors"]


def test_another_users_run_does_not_exist(bob_api, completed_run):
    pk = completed_run.pk
    assert bob_api.get("/api/v1/runs/").json()["count"] == 0
    for method, url in [("get", f"/api/v1/runs/{pk}/"), ("post", f"/api/v1/runs/{pk}/cancel/"), ("post", f"/api/v1/runs/{pk}/rerun/"),
                        ("get", f"/api/v1/runs/{pk}/selection/"), ("get", f"/api/v1/runs/{pk}/samples/"),
                        ("get", f"/api/v1/runs/{pk}/artifacts/"), ("get", f"/api/v1/runs/{pk}/artifacts/report.json")]:
        assert getattr(bob_api, method)(url).status_code == 404, url
    assert Run.objects.count() == 1
