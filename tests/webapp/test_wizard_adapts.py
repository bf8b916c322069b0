"""The wizard adapts to the dataset and the method (issue 17): coral unavailable without
predictions (and why), one task preselected, only the chosen task's scores, no task step for
coreset/random, training fields off while training is, n_samples checked against the dataset,
and a review that leads with a summary and shows whole documents (no "null")."""

import html
import json
import re

import pytest

from selection_engine.synthetic import write_predictions
from webapp.runs.models import Preset

from .conftest import IMAGE_SIZE, TASK, make_dataset, upload, zip_folder
from .test_run_wizard import review_documents, step, walk_to_review

N_IMAGES = 24  # the conftest's images


@pytest.fixture
def plain(alice, images):
    """Alice's dataset on the same images, without predictions."""
    return make_dataset(alice, images[0], name="Plain")


@pytest.fixture
def two_tasks(alice, images, tmp_path):
    """A dataset with a classification task and an object-detection task."""
    staging = tmp_path / "two-tasks"
    write_predictions(staging, images[1], {TASK: "classification", "boxes": "object-detection"},
                      categories=("cat", "dog"), image_size=IMAGE_SIZE)
    made = make_dataset(alice, images[0], name="Two tasks")
    assert upload(made, alice, zip_folder(staging)).accepted
    return made


def select_html(page: str, select: str) -> str:
    """The options of the ``<select name=select>`` as rendered."""
    match = re.search(rf'<select name="{select}"[^>]*>(.*?)</select>', page, re.S)
    assert match, f"no select {select}"
    return match.group(1)


def options(page: str, select: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)"', select_html(page, select))


def checked_method(page: str) -> str:
    return re.search(r'<input type="radio" name="method" value="(\w+)"[^>]*checked', page).group(1)


def test_without_predictions_coreset_is_the_default_and_coral_says_why_it_is_unavailable(alice_client, plain):
    step(alice_client, "dataset", {"dataset": plain.pk})
    page = alice_client.get("/runs/new/method/").content.decode()
    assert checked_method(page) == "coreset"
    coral = re.search(r'<input type="radio" name="method" value="coral"[^>]*>', page).group(0)
    assert "disabled" in coral
    note = re.search(r'<p class="note" id="coral-unavailable">(.*?)</p>', page, re.S).group(1)
    assert "Plain has none yet" in note
    assert f'href="/datasets/{plain.pk}/#id_archive">Upload predictions</a>' in note
    # coral sent anyway (an old form, a script) is refused in place, naming the way out
    response = step(alice_client, "method", {"method": "coral"})
    assert response.status_code == 200
    assert "This dataset has no predictions: upload them on the dataset page" in html.unescape(response.content.decode())


def test_with_predictions_coral_is_the_default_and_offered(alice_client, dataset):
    step(alice_client, "dataset", {"dataset": dataset.pk})
    page = alice_client.get("/runs/new/method/").content.decode()
    assert checked_method(page) == "coral"
    assert "coral-unavailable" not in page
    assert "disabled" not in re.search(r'<input type="radio" name="method" value="coral"[^>]*>', page).group(0)


def test_the_only_task_is_preselected_with_its_own_scores(alice_client, dataset):
    step(alice_client, "dataset", {"dataset": dataset.pk})
    step(alice_client, "method", {"method": "coral"})
    page = alice_client.get("/runs/new/task/").content.decode()
    assert re.search(rf'<option value="{TASK}" selected>', page)
    assert options(page, "score_name") == ["uncertainty_least_confidence", "uncertainty_margin", "uncertainty_entropy"]


def test_only_the_chosen_tasks_score_names_are_offered(alice_client, two_tasks):
    step(alice_client, "dataset", {"dataset": two_tasks.pk})
    step(alice_client, "method", {"method": "coral"})
    page = alice_client.get("/runs/new/task/").content.decode()
    assert re.findall(r'<option value="(\w*)" selected>', select_html(page, "task_name")) == [""], "two tasks: none is preselected"
    assert options(page, "score_name") == []  # until a task is chosen (wizard.js fills them in as it changes)
    scores = html.unescape(re.search(r'data-scores="([^"]*)"', page).group(1))
    assert '"boxes": ["objectness_least_confidence", "object_frequency"' in scores
    # the classification task's scores only, even when a detection score is sent
    response = step(alice_client, "task", {"task_name": TASK, "score_name": "objectness_least_confidence"})
    page = response.content.decode()
    assert response.status_code == 200 and f"Task {TASK} (classification) has the scores" in page
    assert "objectness_least_confidence" not in options(page, "score_name")
    assert "uncertainty_margin" in options(page, "score_name")
    # the detection task's own scores once it is the answer
    assert step(alice_client, "task", {"task_name": "boxes", "score_name": "object_frequency"}).status_code == 302
    page = alice_client.get("/runs/new/task/").content.decode()
    assert options(page, "score_name")[:2] == ["objectness_least_confidence", "object_frequency"]
    assert re.search(r'<option value="object_frequency" selected>', page)


@pytest.mark.parametrize("method", ["coreset", "random"])
def test_the_task_step_is_skipped_for_methods_without_predictions(alice_client, dataset, method):
    step(alice_client, "dataset", {"dataset": dataset.pk})
    step(alice_client, "task", {"task_name": TASK, "score_name": "uncertainty_margin"})  # answered, then the method changes
    response = step(alice_client, "method", {"method": method})
    assert response["Location"] == "/runs/new/stopping/"
    page = alice_client.get("/runs/new/stopping/").content.decode()
    steps = re.search(r'<ol class="steps">(.*?)</ol>', page, re.S).group(1)
    assert "Active-learning task" not in steps
    assert alice_client.get("/runs/new/task/")["Location"] == "/runs/new/stopping/"
    assert step(alice_client, "stopping", {"n_samples": "5"}, action="back")["Location"] == "/runs/new/method/"
    # the earlier task answer does not leak into the documents
    docs = review_documents(walk_to_review(alice_client, dataset, method={"method": method}).content.decode())
    assert docs["worker_config"]["method"] == method and "active_learning" not in docs["worker_config"]


def test_training_fields_are_disabled_while_training_is_off(alice_client, dataset):
    step(alice_client, "dataset", {"dataset": dataset.pk})
    page = alice_client.get("/runs/new/embeddings/").content.decode()
    epochs = re.search(r'<input type="number" name="max_epochs"[^>]*>', page).group(0)
    assert "disabled" in epochs and "data-training" in epochs
    # off: the disabled field is not sent, and the earlier value is kept
    assert step(alice_client, "embeddings", {"model_name": "resnet-18", "num_ftrs": "16", "input_size": "32"}).status_code == 302
    # on: the field is enabled, and required
    response = step(alice_client, "embeddings", {"model_name": "resnet-18", "num_ftrs": "16", "input_size": "32",
                                                 "enable_training": "on"})
    assert response.status_code == 200 and "Give the number of training epochs." in response.content.decode()
    epochs = re.search(r'<input type="number" name="max_epochs"[^>]*>', response.content.decode()).group(0)
    assert "disabled" not in epochs
    step(alice_client, "embeddings", {"model_name": "resnet-18", "num_ftrs": "16", "input_size": "32",
                                      "enable_training": "on", "max_epochs": "3"})
    assert "disabled" not in re.search(r'<input type="number" name="max_epochs"[^>]*>',
                                       alice_client.get("/runs/new/embeddings/").content.decode()).group(0)


def test_n_samples_larger_than_the_dataset_is_said_on_the_stopping_step(alice_client, dataset):
    step(alice_client, "dataset", {"dataset": dataset.pk})
    step(alice_client, "method", {"method": "coreset"})
    page = alice_client.get("/runs/new/stopping/").content.decode()
    assert f"This dataset holds {N_IMAGES} images." in page
    response = step(alice_client, "stopping", {"n_samples": str(N_IMAGES + 1)})
    assert response.status_code == 200
    assert (f"{N_IMAGES + 1} is more images than this dataset holds ({N_IMAGES}): give at most {N_IMAGES}, "
            "or a fraction such as 0.25.") in response.content.decode()
    assert step(alice_client, "stopping", {"n_samples": str(N_IMAGES)}).status_code == 302


def summary_of(page: str) -> str:
    return html.unescape(re.search(r'<p class="run-summary" id="run-summary">(.*?)</p>', page, re.S).group(1))


def test_the_review_leads_with_a_summary_in_words(alice_client, dataset):
    page = walk_to_review(alice_client, dataset).content.decode()
    assert summary_of(page) == (f"Coral · 5 of {N_IMAGES} images · {TASK} / uncertainty_entropy · "
                                "resnet-18, random weights · no training")
    assert page.index('id="run-summary"') < page.index('name="worker_config"')
    page = walk_to_review(alice_client, dataset, method={"method": "strategies", "balance_classes": "on"},
                          stopping={"n_samples": "0.25"},
                          embeddings={"enable_training": "on", "max_epochs": "2"}).content.decode()
    assert summary_of(page) == (f"Strategies (diversity, scores, class balance) · 25% of {N_IMAGES} images (about 6) · "
                                f"{TASK} / uncertainty_entropy · resnet-18, random weights · trained 2 epochs first")


def test_the_summary_follows_edited_documents_and_names_what_is_wrong(alice_client, dataset):
    docs = review_documents(walk_to_review(alice_client, dataset).content.decode())
    docs["worker_config"]["method"] = "coreset"
    del docs["worker_config"]["active_learning"]
    docs["worker_config"]["stopping_condition"] = {"min_distance": 0.4}
    response = alice_client.post("/runs/new/review/", {
        "worker_config": json.dumps(docs["worker_config"]), "lightly_config": json.dumps(docs["lightly_config"]),
        "selection_config": "", "action": "preset"})  # no preset name: the page comes back with the edits
    assert summary_of(response.content.decode()).startswith(
        "Coreset · As many as it takes until every image lies within 0.4 of a selected one · no predictions used")
    docs["worker_config"]["stopping_condition"] = {"n_samples": N_IMAGES + 6}  # edited past the stopping step's check
    response = alice_client.post("/runs/new/review/", {
        "worker_config": json.dumps(docs["worker_config"]), "lightly_config": "{}", "action": "preset"})
    assert summary_of(response.content.decode()).startswith(
        f"Coreset · {N_IMAGES + 6} of {N_IMAGES} images (more than it holds: every candidate would be selected) ·")
    docs["worker_config"]["stoping_condition"] = {}
    response = alice_client.post("/runs/new/review/", {
        "worker_config": json.dumps(docs["worker_config"]), "lightly_config": "{}", "action": "preset"})
    assert "The documents do not check out yet: stoping_condition: unknown key" in summary_of(response.content.decode())


def test_an_empty_selection_config_is_empty_and_the_documents_are_not_clipped(alice_client, dataset):
    page = walk_to_review(alice_client, dataset).content.decode()
    selection = re.search(r'<textarea name="selection_config"([^>]*)>(.*?)</textarea>', page, re.S)
    assert selection.group(2).strip() == "" and "null" not in selection.group(2)
    assert 'placeholder="(none: the worker config&#x27;s method and stopping condition decide)"' in selection.group(1)
    for name in ("worker_config", "lightly_config"):
        attrs, text = re.search(rf'<textarea name="{name}"([^>]*)>(.*?)</textarea>', page, re.S).groups()
        rows = int(re.search(r'rows="(\d+)"', attrs).group(1))
        assert rows > html.unescape(text).strip().count("\n"), (name, rows)  # every line has its row


def test_a_preset_without_a_selection_config_shows_none_not_null(alice_client, dataset):
    docs = review_documents(walk_to_review(alice_client, dataset).content.decode())
    alice_client.post("/runs/new/review/", {
        "worker_config": json.dumps(docs["worker_config"]), "lightly_config": json.dumps(docs["lightly_config"]),
        "preset_name": "plain coral", "action": "preset"})
    preset = Preset.objects.get(name="plain coral")
    assert preset.selection_config is None
    alice_client.get(f"/runs/new/?dataset={dataset.pk}")
    step(alice_client, "dataset", {"dataset": dataset.pk, "preset": preset.pk})
    page = alice_client.get("/runs/new/review/").content.decode()
    assert re.search(r'<textarea name="selection_config"[^>]*>\s*</textarea>', page)
