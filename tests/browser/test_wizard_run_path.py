"""The core path of issue 17 in the browser, at 1400x900: the wizard adapting to a dataset with
predictions and to one without, and the run page from the first poll to its headline (and a
canceled re-run that reads canceled). Two walks go the whole way, on the digits demo and on a
dataset without predictions: wizard, run, plots at three window widths, a left-out sample's
page, and the selection exported for labeling (each download parsed)."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from webapp.datasets.management.commands.seed_demo import TASK as DEMO_TASK

from .conftest import (
    CATEGORIES,
    N_IMAGES,
    TASK,
    _manage,
    create_dataset,
    login,
    predictions_folder,
    upload_zip,
    zip_folder,
)
from .walk import check_exports, check_removed_sample, check_run_plots

#: The demo: scikit-learn's digits.
DEMO_N = 1797

USER, PASSWORD = "walker", "walker-browser-pass-1"
RUN_TIMEOUT_S = 240
#: What the page may name as the stage (progress.STAGE_WORDS and the states around them).
STAGE_WORDS = {
    "Waiting for a worker", "Starting", "Reading the image list and predictions", "Checking for corrupt images",
    "Looking for exact duplicates", "Training the model on your images", "Computing image embeddings",
    "Scoring the predictions", "Measuring sharpness, noise and size", "Selecting images", "Writing the selection",
    "Copying the selected images", "Writing the report", "Done",
}


@pytest.fixture(scope="module")
def walker(server):
    """A user of this module's own, so the other tests' lists stay as they expect them."""
    _manage(server.env, "shell", "-c", (
        "from django.contrib.auth import get_user_model\n"
        f"get_user_model().objects.create_user({USER!r}, password={PASSWORD!r})\n"
    ))
    return USER


@pytest.fixture
def wide(page):
    page.set_viewport_size({"width": 1400, "height": 900})
    return page


def watch_run(page, on_running=None) -> list[tuple[str, str, float]]:
    """Watch the run page until the run finishes (it reloads itself then); every (stage,
    message, bar width in %) it showed, from the first look on. ``on_running(page)`` is called
    once, at the first stage of the engine's seen."""
    seen: list[tuple[str, str, float]] = []
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if page.locator("#status[data-finished=true]").count():
                break
            stage, message = page.locator("#stage").inner_text(), page.locator("#message").inner_text()
            width = page.locator("#bar").evaluate("bar => parseFloat(bar.style.width)")
        except Exception:  # the page is reloading
            time.sleep(0.2)
            continue
        if not seen or seen[-1] != (stage, message, width):
            seen.append((stage, message, width))
            if on_running is not None and stage not in ("Waiting for a worker", "Starting"):
                on_running(page)
                on_running = None
        time.sleep(0.25)
    else:
        pytest.fail(f"the run did not finish within {RUN_TIMEOUT_S} s; last seen: {seen[-3:]}")
    page.wait_for_load_state()
    return seen


def check_progress(seen: list[tuple[str, str, float]]) -> None:
    """One bar that only grows, stages named in words, no config keys in the messages."""
    stages = [stage for stage, _message, _width in seen]
    assert set(stages) <= STAGE_WORDS, stages
    widths = [width for _stage, _message, width in seen]
    assert widths == sorted(widths), f"the overall bar went back: {seen}"
    for _stage, message, _width in seen:
        assert not re.search(r"\w+=(True|False)|Compute efficiency|Epoch \d+:", message), message


def finish_run(page, shot, name: str) -> int:
    """Queue from the review step, watch the run to its end; the run's id."""
    page.click("button[value=queue]")
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    run_id = int(re.search(r"/runs/(\d+)/$", page.url).group(1))
    expect(page.locator(".messages")).to_contain_text(f"Run {run_id} submitted.")
    expect(page.locator("#rerun")).to_have_count(0)  # not finished: no Re-run
    expect(page.locator("#cancel")).to_be_visible()
    shot(page, f"{name}-run-started")
    check_progress(watch_run(page, lambda page: shot(page, f"{name}-run-running")))
    state = page.locator("#state").inner_text().strip()
    if state != "completed":
        status = page.request.get(f"/runs/{run_id}/status.json").json()
        pytest.fail(f"run {run_id} ended {state!r}: {status['error']}\n{status['log_tail'][-3000:]}")
    return run_id


def check_headline(page, run_id: int, n_selected: int, of: int = N_IMAGES) -> None:
    expect(page.locator("#selected-count")).to_have_text(f"{n_selected} of {of} candidates selected.")
    links = page.locator("#result-links > a")  # first in the row; the selection's export links follow
    hrefs = dict(links.evaluate_all("as => as.map(a => [a.textContent.trim(), a.getAttribute('href')])")[:4])
    assert hrefs == {"Gallery": f"/runs/{run_id}/gallery/", "Plots": f"/runs/{run_id}/plots/",
                     "Compare": f"/runs/compare/?a={run_id}", "report.pdf": f"/runs/{run_id}/artifacts/report.pdf"}
    for href in hrefs.values():
        assert page.request.get(href).status == 200, href
    expect(page.locator("#stage")).to_have_text("Done")
    assert page.locator("#bar").evaluate("bar => bar.style.width") == "100%"
    expect(page.locator("#rerun")).to_be_visible()
    expect(page.locator("#cancel")).to_have_count(0)
    expect(page.locator("#error")).to_be_hidden()


def review_and_run(page, shot, name: str, summary: str, n_selected: int, of: int = N_IMAGES) -> int:
    """The review step (its summary line, the documents whole), then the run queued from it and
    watched to its headline; the run's id."""
    expect(page).to_have_url(re.compile(r"/runs/new/review/$"))
    expect(page.locator("#run-summary")).to_have_text(summary)
    check_review_documents(page)
    shot(page, f"{name}-review")
    run_id = finish_run(page, shot, name)
    check_headline(page, run_id, n_selected, of=of)
    return run_id


def check_review_documents(page) -> None:
    """Every document wholly visible (no scroll bar inside a box); no "null" for none."""
    expect(page.locator("#id_selection_config")).to_have_value("")
    for name in ("worker_config", "lightly_config"):
        box = page.locator(f"#id_{name}")
        clipped = box.evaluate("b => b.scrollHeight - b.clientHeight")
        assert clipped <= 1, f"{name}: {clipped} px of the document hidden"


@pytest.mark.timeout(600)
def test_wizard_and_run_page_on_a_dataset_with_predictions(wide, server, shot, walker, tmp_path):
    page = wide
    login(page, walker, PASSWORD)
    dataset_id = create_dataset(page, "Walk pets", server.images)
    upload_zip(page, "predictions.zip", zip_folder(predictions_folder(tmp_path / "p", server.image_names), prefix=".lightly/"))
    expect(page.locator("#tasks tbody tr")).to_have_count(1)

    page.goto(f"/runs/new/?dataset={dataset_id}")
    page.click("button[value=next]")
    expect(page.locator("input[name=method][value=coral]")).to_be_checked()
    expect(page.locator("#coral-unavailable")).to_have_count(0)
    shot(page, "method")
    page.click("button[value=next]")

    # the one task is preselected; only its own scores are offered
    expect(page).to_have_url(re.compile(r"/runs/new/task/$"))
    expect(page.locator("#id_task_name")).to_have_value(TASK)
    expect(page.locator("#id_score_name option")).to_have_text(
        ["uncertainty_least_confidence", "uncertainty_margin", "uncertainty_entropy"])
    page.select_option("#id_score_name", "uncertainty_margin")
    shot(page, "task")
    page.click("button[value=next]")

    # more images than the dataset holds: said here, before anything is queued
    expect(page.locator("#field-n_samples .help")).to_contain_text(f"This dataset holds {N_IMAGES} images.")
    page.fill("#id_n_samples", str(N_IMAGES + 10))
    page.click("button[value=next]")
    expect(page).to_have_url(re.compile(r"/runs/new/stopping/$"))
    expect(page.locator("#field-n_samples .error")).to_have_text(
        f"{N_IMAGES + 10} is more images than this dataset holds ({N_IMAGES}): give at most {N_IMAGES}, "
        "or a fraction such as 0.25.")
    shot(page, "stopping-too-many")
    page.fill("#id_n_samples", "10")
    page.click("button[value=next]")

    # the training fields follow the training box
    expect(page).to_have_url(re.compile(r"/runs/new/embeddings/$"))
    expect(page.locator("#id_max_epochs")).to_be_disabled()
    page.check("#id_enable_training")
    expect(page.locator("#id_max_epochs")).to_be_enabled()
    shot(page, "embeddings-training-on")
    page.uncheck("#id_enable_training")
    expect(page.locator("#id_max_epochs")).to_be_disabled()
    page.fill("#id_input_size", "32")
    page.click("button[value=next]")
    page.click("button[value=next]")  # options

    review_and_run(
        page, shot, "coral", f"Coral · 10 of {N_IMAGES} images · {TASK} / uncertainty_margin · resnet-18, random weights · no training",
        10)
    expect(page.locator("#headline-score")).to_contain_text(f"Mean {TASK}/uncertainty_margin:")
    scores = re.findall(r"\d\.\d{3}", page.locator("#headline-score").inner_text())
    assert len(scores) == 2 and all(0 <= float(s) <= 1 for s in scores), scores
    rows = page.locator("#class-mix tbody tr")
    expect(rows.locator("td:first-child")).to_have_text(list(CATEGORIES))
    for column in (2, 3):  # each column of shares adds up to about 100 %
        shares = [int(t.rstrip("%")) for t in rows.locator(f"td:nth-child({column})").all_inner_texts()]
        assert 98 <= sum(shares) <= 102, shares
    shot(page, "run-completed")


@pytest.mark.timeout(600)
def test_the_whole_path_on_a_dataset_without_predictions(wide, server, shot, walker):
    page = wide
    login(page, walker, PASSWORD)
    dataset_id = create_dataset(page, "Walk plain", server.images)

    page.goto(f"/runs/new/?dataset={dataset_id}")
    page.click("button[value=next]")
    # coreset by default; coral shown, not pickable, and why, with the way to make it so
    expect(page.locator("input[name=method][value=coreset]")).to_be_checked()
    expect(page.locator("input[name=method][value=coral]")).to_be_disabled()
    note = page.locator("#coral-unavailable")
    expect(note).to_contain_text("Coral is unavailable")
    expect(note).to_contain_text("Walk plain has none yet")
    expect(note.locator("a")).to_have_attribute("href", f"/datasets/{dataset_id}/#id_archive")
    shot(page, "method-no-predictions")
    page.click("button[value=next]")

    # no task step for coreset
    expect(page).to_have_url(re.compile(r"/runs/new/stopping/$"))
    expect(page.locator("ol.steps li")).to_have_text(
        ["Dataset", "Method", "Stopping condition", "Embeddings and training", "Options", "Review"])
    page.fill("#id_n_samples", "8")
    page.click("button[value=next]")
    page.fill("#id_input_size", "32")
    page.click("button[value=next]")
    page.click("button[value=next]")

    run_id = review_and_run(
        page, shot, "coreset", f"Coreset · 8 of {N_IMAGES} images · no predictions used · resnet-18, random weights · no training", 8)
    expect(page.locator("#headline-score")).to_have_count(0)  # no scores, no class mix to speak of
    expect(page.locator("#class-mix")).to_have_count(0)
    shot(page, "run-completed-coreset")

    # the rest of the path: plots, a left-out sample, the selection leaving for a labeling tool
    check_run_plots(page, shot, run_id, "coreset")
    check_removed_sample(page, shot, run_id, "coreset")
    tasks = check_exports(page, shot, run_id, dataset_id, server.images, 8, "coreset")
    # no predictions, no task scores: only what the selection itself records
    assert {name for t in tasks for name in t["data"]["scores"]} == {"contribution/DIVERSITY", "distance_to_nearest_earlier_pick"}

    # a re-run canceled at once reads canceled, not failed
    page.goto(f"/runs/{run_id}/")
    page.click("#rerun")
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    assert int(re.search(r"/runs/(\d+)/$", page.url).group(1)) != run_id
    page.click("#cancel")
    page.wait_for_load_state()
    watch_run(page)
    expect(page.locator("#state")).to_have_text("canceled")
    expect(page.locator("#canceled-note")).to_be_visible()
    expect(page.locator("#canceled-note")).to_contain_text("Canceled by the user")
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#log")).not_to_contain_text("Failed")
    expect(page.locator("#rerun")).to_be_visible()
    expect(page.locator("#headline")).to_have_count(0)
    shot(page, "run-canceled")


@pytest.mark.timeout(900)
def test_the_whole_path_on_the_demo(wide, server, shot, walker):
    """What `make run` gives a new user: the digits demo (real images with a classifier's
    predictions), a coral run through the wizard on its defaults, and the results."""
    _manage(server.env, "seed_demo", "--username", walker, "--no-run")
    page = wide
    login(page, walker, PASSWORD)
    page.goto("/datasets/")
    page.click("a:has-text('Digits demo')")
    page.wait_for_url(re.compile(r"/datasets/\d+/$"))
    dataset_id = int(re.search(r"/datasets/(\d+)/$", page.url).group(1))
    expect(page.locator("#tasks tbody tr")).to_have_count(1)
    expect(page.locator("#tasks tbody tr")).to_contain_text(DEMO_TASK)
    shot(page, "demo-dataset")

    page.click("main a.button:has-text('New run')")  # the dataset page's own button, not the menu's
    expect(page).to_have_url(re.compile(r"/runs/new/dataset/$"))
    expect(page.locator("select[name=dataset]")).to_have_value(str(dataset_id))
    page.click("button[value=next]")
    expect(page.locator("input[name=method][value=coral]")).to_be_checked()
    shot(page, "demo-method")
    page.click("button[value=next]")
    expect(page.locator("#id_task_name")).to_have_value(DEMO_TASK)
    expect(page.locator("#id_score_name option")).to_have_text(
        ["uncertainty_least_confidence", "uncertainty_margin", "uncertainty_entropy"])
    expect(page.locator("#id_score_name")).to_have_value("uncertainty_margin")  # the default score
    shot(page, "demo-task")
    page.click("button[value=next]")
    expect(page.locator("#field-n_samples .help")).to_contain_text(f"This dataset holds {DEMO_N} images.")
    page.fill("#id_n_samples", "100")
    page.click("button[value=next]")
    expect(page.locator("#id_max_epochs")).to_be_disabled()  # the defaults: no training
    page.click("button[value=next]")
    page.click("button[value=next]")  # options

    run_id = review_and_run(
        page, shot, "demo", f"Coral · 100 of {DEMO_N} images · {DEMO_TASK} / uncertainty_margin · resnet-18, random weights · no training",
        100, of=DEMO_N)
    headline = page.locator("#headline-score").inner_text()
    selected_mean, all_mean = (float(s) for s in re.findall(r"\d\.\d{3}", headline))
    assert selected_mean > all_mean, headline  # coral picks the samples the classifier is least sure of
    expect(page.locator("#class-mix tbody tr td:first-child")).to_have_text([str(d) for d in range(10)])
    shot(page, "demo-run-completed")

    check_run_plots(page, shot, run_id, "demo")
    check_removed_sample(page, shot, run_id, "demo")
    tasks = check_exports(page, shot, run_id, dataset_id, server.root / "demo-digits", 100, "demo")
    assert all(f"{DEMO_TASK}/uncertainty_margin" in t["data"]["scores"] for t in tasks)
