"""The whole way through, as a user sees it: sign in, a dataset, predictions, the wizard, a
coral run to completion, and its gallery."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from .conftest import CATEGORIES, N_IMAGES, TASK, create_dataset, login, predictions_folder, upload_zip, zip_folder

N_SAMPLES = 10
RUN_TIMEOUT_MS = 180_000


@pytest.mark.timeout(400)
def test_sign_in_upload_wizard_coral_run_gallery(page, server, shot, tmp_path):
    # -- sign in
    login(page, "alice")
    expect(page).to_have_url(re.compile(r"/datasets/$"))
    expect(page.locator("h1")).to_have_text("Datasets")
    expect(page.locator("header")).to_contain_text("alice")
    shot(page, "datasets-empty")

    # -- a dataset on the folder of generated images
    page.goto("/datasets/new/")
    shot(page, "dataset-form")
    create_dataset(page, "Pets", server.images)
    expect(page.locator(".messages")).to_contain_text(f"Saved. The datasource holds {N_IMAGES} images.")
    expect(page.locator("#image-count")).to_have_text(str(N_IMAGES))
    expect(page.locator(".empty").first).to_contain_text("No predictions yet")
    shot(page, "dataset-created")

    # -- predictions: a zip of the .lightly folder
    lightly = predictions_folder(tmp_path / "predictions", server.image_names)
    upload_zip(page, "predictions.zip", zip_folder(lightly, prefix=".lightly/"))
    n_files = N_IMAGES + 2  # one file per image, the task's schema.json and tasks.json
    expect(page.locator(".messages")).to_contain_text(f"predictions.zip: Accepted {n_files} files.")
    rows = page.locator("#tasks tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td")).to_have_text([TASK, "classification", ", ".join(CATEGORIES), f"{N_IMAGES} / {N_IMAGES}"])
    report = page.locator("details.upload-report").first
    expect(report).to_have_class(re.compile(r"\baccepted\b"))
    expect(report.locator(":scope > summary")).to_contain_text("predictions.zip")
    expect(report.locator(":scope > summary")).to_contain_text(f"Accepted {n_files} files.")
    expect(report.locator(".valid-files summary")).to_have_text(f"{n_files} valid files")
    shot(page, "predictions-uploaded")

    # -- the wizard, step by step
    page.click("a:has-text('New run')")
    expect(page).to_have_url(re.compile(r"/runs/new/dataset/$"))
    expect(page.locator("#step-dataset h2")).to_have_text("Dataset")
    expect(page.locator("#id_dataset option:checked")).to_have_text("Pets")
    shot(page, "wizard-dataset")
    page.click("button[value=next]")

    expect(page.locator("#step-method h2")).to_contain_text("Method")
    page.check("input[name=method][value=coral]")
    shot(page, "wizard-method")
    page.click("button[value=next]")

    expect(page.locator("#step-task h2")).to_contain_text("Active-learning task")
    task_label = f"{TASK} (classification, {N_IMAGES} of {N_IMAGES} images)"
    expect(page.locator("#id_task_name option", has_text=TASK)).to_have_text(task_label)
    page.select_option("#id_task_name", TASK)
    page.select_option("#id_score_name", "uncertainty_margin")
    shot(page, "wizard-task")
    page.click("button[value=next]")

    expect(page.locator("#step-stopping h2")).to_contain_text("Stopping condition")
    page.fill("#id_n_samples", str(N_SAMPLES))
    shot(page, "wizard-stopping")
    page.click("button[value=next]")

    expect(page.locator("#step-embeddings h2")).to_contain_text("Embeddings and training")
    page.fill("#id_input_size", "32")
    expect(page.locator("#id_enable_training")).not_to_be_checked()
    shot(page, "wizard-embeddings")
    page.click("button[value=next]")

    expect(page.locator("#step-options h2")).to_contain_text("Options")
    shot(page, "wizard-options")
    page.click("button[value=next]")

    expect(page.locator("#step-review h2")).to_contain_text("Review")
    worker_text = page.locator("#id_worker_config").input_value()
    assert '"coral"' in worker_text
    worker = json.loads(worker_text)
    assert worker["method"] == "coral"
    assert worker["stopping_condition"] == {"n_samples": N_SAMPLES}
    assert worker["active_learning"] == {"task_name": TASK, "score_name": "uncertainty_margin"}
    lightly_config = json.loads(page.locator("#id_lightly_config").input_value())
    assert lightly_config["collate"]["input_size"] == 32
    shot(page, "wizard-review")

    # -- queue, and watch the run page until the run is done
    page.click("button[value=queue]")
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    run_id = int(re.search(r"/runs/(\d+)/$", page.url).group(1))
    expect(page.locator(".messages")).to_contain_text(f"Run {run_id} submitted.")
    expect(page.locator("h1")).to_contain_text(f"Run {run_id}")
    expect(page.locator("h1")).to_contain_text("Pets")
    expect(page.locator("#state")).to_have_text(re.compile(r"^(queued|running|completed)$"))
    shot(page, "run-queued")

    state = page.locator("#state")
    expect(state).to_have_text(re.compile(r"^(completed|failed|canceled)$"), timeout=RUN_TIMEOUT_MS)
    # the page reloads itself when the run finishes; the reloaded page says so in data-finished
    expect(page.locator("#status[data-finished=true]")).to_be_attached(timeout=30_000)
    page.wait_for_load_state()
    shot(page, "run-finished")
    if state.inner_text().strip() != "completed":
        status = page.request.get(f"/runs/{run_id}/status.json").json()
        pytest.fail(f"run {run_id} ended {status['state']!r}: {status['error']}\n--- log ---\n{status['log_tail'][-3000:]}")
    gallery_link = page.locator("a.button:has-text('Gallery')")
    expect(page.locator("#selected-count")).to_have_text(f"{N_SAMPLES} of {N_IMAGES} candidates selected.", timeout=30_000)
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#artifacts")).to_be_visible()
    expect(page.locator("#cancel")).to_have_count(0)

    # -- the gallery: exactly the selected images, with their scores, highest first
    gallery_link.click()
    expect(page).to_have_url(re.compile(rf"/runs/{run_id}/gallery/$"))
    expect(page.locator("h1")).to_contain_text(f"Gallery run {run_id} on Pets")
    expect(page.locator("[role=tab].active")).to_have_text("selected")
    expect(page.locator("#match-count")).to_have_text(f"{N_SAMPLES} matching samples")
    expect(page.locator("select[name=sort] option:checked")).to_have_text(f"score ({TASK}/uncertainty_margin)")
    samples = page.locator("figure.sample")
    expect(samples).to_have_count(N_SAMPLES)
    expect(page.locator("figure.sample.removed")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    shot(page, "gallery")

    filenames = samples.evaluate_all("els => els.map(e => e.dataset.filename)")
    assert len(set(filenames)) == N_SAMPLES
    assert set(filenames) <= set(server.image_names)
    expect(samples.locator(".score")).to_have_count(N_SAMPLES)
    scores = [float(text) for text in samples.locator(".score").all_inner_texts()]
    assert all(0 <= s <= 1 for s in scores), scores  # uncertainty_margin lies in [0, 1]
    assert scores == sorted(scores, reverse=True), f"gallery not sorted by score, highest first: {scores}"
    ranks = [text.strip() for text in samples.locator(".rank").all_inner_texts()]
    assert all(re.fullmatch(r"#\d+", r) for r in ranks), ranks
    assert sorted(int(r[1:]) for r in ranks) == list(range(1, N_SAMPLES + 1)), ranks  # selection order 1..n
    # every thumbnail is served
    broken = samples.locator("img").evaluate_all("imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt)")
    assert broken == [], f"thumbnails that did not load: {broken}"

    # the other tabs: every image, and the ones not selected
    page.click("[role=tab][data-tab=all]")
    expect(page.locator("#match-count")).to_have_text(f"{N_IMAGES} matching samples")
    expect(page.locator("figure.sample")).to_have_count(N_IMAGES)
    shot(page, "gallery-all")
    page.click("[role=tab][data-tab=removed]")
    expect(page.locator("#match-count")).to_have_text(f"{N_IMAGES - N_SAMPLES} matching samples")
    expect(page.locator("figure.sample.removed")).to_have_count(N_IMAGES - N_SAMPLES)
    removed = set(page.locator("figure.sample").evaluate_all("els => els.map(e => e.dataset.filename)"))
    assert not removed & set(filenames)
    shot(page, "gallery-removed")
