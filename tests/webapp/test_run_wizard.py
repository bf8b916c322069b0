"""The run wizard: steps with validation, Back/Forward keeping entries, the review's JSON, presets."""

import json

from webapp.runs.models import Preset, Run

from .conftest import TASK


def step(client, name, data, action="next"):
    return client.post(f"/runs/new/{name}/", {**data, "action": action})


def walk_to_review(client, dataset, **overrides):
    """Answer every step (``overrides``: {step: {field: value}}) and open the review."""
    answers = {
        "dataset": {"dataset": dataset.pk},
        "method": {"method": "coral", "use_diversity": "on", "use_scores": "on"},
        "task": {"task_name": TASK, "score_name": "uncertainty_entropy"},
        "stopping": {"n_samples": "5"},
        "embeddings": {"model_name": "resnet-18", "num_ftrs": "16", "input_size": "32", "max_epochs": "1"},
        "options": {"enable_corruptness_check": "on", "invalid_predictions": "skip", "n_example_images": "2"},
    }
    for name, data in answers.items():
        response = step(client, name, {**data, **overrides.get(name, {})})
        assert response.status_code == 302, (name, response.content.decode()[:3000])
    return client.get("/runs/new/review/")


def review_documents(page: str) -> dict:
    import html
    import re

    found = {}
    for name in ("worker_config", "lightly_config", "selection_config"):
        match = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
        found[name] = json.loads(html.unescape(match.group(1)).strip() or "null")
    return found


def test_the_review_shows_the_configs_the_answers_produce(alice_client, dataset):
    page = walk_to_review(alice_client, dataset).content.decode()
    docs = review_documents(page)
    worker = docs["worker_config"]
    assert worker["method"] == "coral"
    assert worker["stopping_condition"] == {"n_samples": 5}
    assert worker["active_learning"] == {"task_name": TASK, "score_name": "uncertainty_entropy"}
    assert worker["invalid_predictions"] == "skip" and worker["remove_exact_duplicates"] is False
    assert docs["lightly_config"]["model"] == {"name": "resnet-18", "num_ftrs": 16}
    assert docs["selection_config"] is None


def test_strategies_produce_a_selection_config(alice_client, dataset):
    page = walk_to_review(alice_client, dataset, method={"method": "strategies", "balance_classes": "on"},
                          stopping={"n_samples": "0.25"}).content.decode()
    selection = review_documents(page)["selection_config"]
    assert selection["proportion_samples"] == 0.25
    types = [(s["input"]["type"], s["strategy"]["type"]) for s in selection["strategies"]]
    assert types == [("EMBEDDINGS", "DIVERSITY"), ("SCORES", "WEIGHTS"), ("PREDICTIONS", "BALANCE")]
    assert selection["strategies"][2]["strategy"]["target"] == {"cat": 0.5, "dog": 0.5}


def test_an_invalid_value_stays_on_the_step_with_the_error(alice_client, dataset):
    walk_to_review(alice_client, dataset)
    for bad, message in (("-5", "neither a count"), ("abc", "is not a number"), ("", "Set the number of samples")):
        response = step(alice_client, "stopping", {"n_samples": bad})
        assert response.status_code == 200, bad
        assert message in response.content.decode(), bad


def test_coral_without_a_task_is_refused_on_the_task_step(alice_client, dataset):
    step(alice_client, "dataset", {"dataset": dataset.pk})
    step(alice_client, "method", {"method": "coral"})
    response = step(alice_client, "task", {"task_name": "", "score_name": "uncertainty_margin"})
    assert response.status_code == 200 and "Choose the task" in response.content.decode()


def test_back_and_forward_keep_the_entries(alice_client, dataset):
    walk_to_review(alice_client, dataset, stopping={"n_samples": "7", "min_distance": "0.3"})
    response = step(alice_client, "embeddings", {"model_name": "resnet-34", "num_ftrs": "8", "input_size": "32", "max_epochs": "1"}, action="back")
    assert response["Location"] == "/runs/new/stopping/"
    stopping = alice_client.get("/runs/new/stopping/").content.decode()
    assert 'value="7"' in stopping and 'value="0.3"' in stopping
    embeddings = alice_client.get("/runs/new/embeddings/").content.decode()
    assert '<option value="resnet-34" selected>' in embeddings


def test_edited_json_is_validated_by_the_engine_before_queueing(alice_client, dataset):
    docs = review_documents(walk_to_review(alice_client, dataset).content.decode())
    docs["worker_config"]["stoping_condition"] = {"n_samples": 3}
    response = alice_client.post("/runs/new/review/", {
        "worker_config": json.dumps(docs["worker_config"]), "lightly_config": json.dumps(docs["lightly_config"]),
        "selection_config": "", "action": "queue",
    })
    page = response.content.decode()
    assert response.status_code == 200
    assert "stoping_condition: unknown key" in page and "did you mean stopping_condition" in page
    assert not Run.objects.exists()
    response = alice_client.post("/runs/new/review/", {"worker_config": "{\n  \"method\": ", "lightly_config": "{}", "action": "queue"})
    assert "worker_config, line 2: invalid JSON" in response.content.decode()
    assert not Run.objects.exists()


def test_a_task_that_does_not_exist_is_refused_at_review(alice_client, dataset):
    docs = review_documents(walk_to_review(alice_client, dataset).content.decode())
    docs["worker_config"]["active_learning"]["task_name"] = "nope"
    response = alice_client.post("/runs/new/review/", {
        "worker_config": json.dumps(docs["worker_config"]), "lightly_config": "{}", "action": "queue"})
    assert "active_learning.task_name: dataset Animals has no task &#x27;nope&#x27; (available: animals)" in response.content.decode()


def test_file_keys_cannot_point_outside_the_users_folder(alice_client, dataset):
    docs = review_documents(walk_to_review(alice_client, dataset).content.decode())
    for value in ("/etc/passwd", "../../other-user/model.ckpt"):
        docs["worker_config"]["checkpoint"] = value
        response = alice_client.post("/runs/new/review/", {"worker_config": json.dumps(docs["worker_config"]), "lightly_config": "{}", "action": "queue"})
        assert "checkpoint: must be a path relative to your folder" in response.content.decode(), value
    assert not Run.objects.exists()


def test_queueing_creates_the_run_and_clears_the_wizard(alice_client, dataset):
    review = walk_to_review(alice_client, dataset).content.decode()
    docs = review_documents(review)
    response = alice_client.post("/runs/new/review/", {
        "worker_config": json.dumps(docs["worker_config"]), "lightly_config": json.dumps(docs["lightly_config"]),
        "selection_config": "null", "action": "queue"})
    run = Run.objects.get()
    assert response["Location"] == f"/runs/{run.pk}/"
    assert run.state == Run.QUEUED and run.worker_config == docs["worker_config"]
    assert run.primary_score == f"{TASK}/uncertainty_entropy"
    assert alice_client.get("/runs/new/review/")["Location"] == "/runs/new/dataset/"


def test_a_preset_is_saved_and_starts_the_wizard_at_review(alice_client, dataset):
    docs = review_documents(walk_to_review(alice_client, dataset).content.decode())
    response = alice_client.post("/runs/new/review/", {
        "worker_config": json.dumps(docs["worker_config"]), "lightly_config": json.dumps(docs["lightly_config"]),
        "preset_name": "my coral", "action": "preset"})
    assert response.status_code == 302
    preset = Preset.objects.get(name="my coral")
    assert preset.worker_config == docs["worker_config"]
    alice_client.get(f"/runs/new/?dataset={dataset.pk}")
    response = step(alice_client, "dataset", {"dataset": dataset.pk, "preset": preset.pk})
    assert response["Location"] == "/runs/new/review/"
    assert review_documents(alice_client.get("/runs/new/review/").content.decode())["worker_config"] == docs["worker_config"]


def test_a_wizard_whose_dataset_was_deleted_starts_over_instead_of_failing(alice_client, dataset):
    walk_to_review(alice_client, dataset)
    dataset.delete()
    assert alice_client.get("/runs/new/review/")["Location"] == "/runs/new/dataset/"
    assert alice_client.get("/runs/new/dataset/").status_code == 200
