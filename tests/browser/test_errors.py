"""What a user sees when something is wrong: a bad login, a bad upload, a bad wizard value, a
datasource outside the allowed roots."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from playwright.sync_api import expect

from .conftest import CATEGORIES, N_IMAGES, TASK, create_dataset, login, predictions_folder, upload_zip, zip_folder


@pytest.mark.timeout(120)
def test_wrong_login_shows_the_error_and_stays_on_the_login_page(page, shot):
    page.goto("/datasets/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/datasets/$"))
    expect(page.locator("h1")).to_have_text("Sign in")
    shot(page, "login-form")

    for username, password in (("alice", "not-her-password"), ("nobody", "whatever-1234")):
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button:has-text('Sign in')")
        page.wait_for_load_state()
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
        expect(page.locator(".errors[role=alert]")).to_have_text(
            "Your username and password did not match. Please try again."
        )
        expect(page.locator("h1")).to_have_text("Sign in")
        expect(page.locator("#id_username")).to_have_value(username)
        expect(page.locator("#id_password")).to_have_value("")  # never echoed back
        expect(page.locator("text=Sign out")).to_have_count(0)
        shot(page, f"login-refused-{username}")

    # still signed out: a protected page sends us back to the login form
    page.goto("/runs/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/runs/$"))

    # and the right password still works afterwards
    login(page, "alice")
    expect(page).to_have_url(re.compile(r"/datasets/$"))
    expect(page.locator("header")).to_contain_text("Sign out")
    shot(page, "login-accepted")


@pytest.mark.timeout(180)
def test_bad_upload_is_rejected_with_a_per_file_report_and_changes_nothing(page, server, shot, tmp_path):
    login(page, "alice")
    create_dataset(page, "Upload checks", server.images)
    expect(page.locator("#image-count")).to_have_text(str(N_IMAGES))

    good = predictions_folder(tmp_path / "good", server.image_names)
    upload_zip(page, "good.zip", zip_folder(good, prefix=".lightly/"))
    expect(page.locator(".messages .msg-success")).to_contain_text("good.zip: Accepted")
    task_cells = [TASK, "classification", ", ".join(CATEGORIES), f"{N_IMAGES} / {N_IMAGES}"]
    expect(page.locator("#tasks tbody tr td")).to_have_text(task_cells)
    shot(page, "good-upload")

    # a second task, as a single task folder, with two broken files
    predictions_folder(tmp_path / "bad", server.image_names, tasks={"weather": "classification"}, seed=1)
    weather = tmp_path / "bad" / ".lightly" / "predictions" / "weather"
    schema = json.loads((weather / "schema.json").read_text())
    assert len(schema["categories"]) == len(CATEGORIES)
    wrong_length = "cats/00002.json"
    doc = json.loads((weather / wrong_length).read_text())
    doc["predictions"][0]["probabilities"] = [0.5, 0.5]  # the schema has 3 categories
    (weather / wrong_length).write_text(json.dumps(doc))
    not_json = "dogs/00005.json"
    (weather / not_json).write_text('{"file_name": "dogs/00005.png", "predictions": [')
    export = tmp_path / "export"
    shutil.copytree(weather, export / "weather")
    upload_zip(page, "bad.zip", zip_folder(export))

    expect(page.locator(".messages .msg-error")).to_have_text("bad.zip: Rejected: 2 problems; nothing was changed.")
    report = page.locator("details.upload-report").first
    expect(report).to_have_class(re.compile(r"\brejected\b"))
    expect(report).to_have_attribute("open", "")
    expect(report.locator(":scope > summary")).to_contain_text("bad.zip")
    expect(report.locator(":scope > summary")).to_contain_text("Rejected: 2 problems; nothing was changed.")
    problems = report.locator("table.report tbody tr.status-error")
    expect(problems).to_have_count(2)
    files = [text.strip() for text in problems.locator("td:nth-child(1)").all_inner_texts()]
    messages = [text.strip() for text in problems.locator("td:nth-child(2)").all_inner_texts()]
    by_file = dict(zip(files, messages))
    assert set(by_file) == {
        f".lightly/predictions/weather/{wrong_length}",
        f".lightly/predictions/weather/{not_json}",
    }, by_file
    assert "probabilities has 2 entries, the schema has 3 categories" in by_file[f".lightly/predictions/weather/{wrong_length}"]
    assert re.search(r"json", by_file[f".lightly/predictions/weather/{not_json}"], re.IGNORECASE), by_file
    # the files that were fine are listed as such
    expect(report.locator(".valid-files > summary")).to_have_text(f"{N_IMAGES + 1 - 2} valid files")
    shot(page, "bad-upload")

    # nothing changed: the task list is the one of the good upload, and so are the wizard's tasks
    expect(page.locator("#tasks tbody tr")).to_have_count(1)
    expect(page.locator("#tasks tbody tr td")).to_have_text(task_cells)
    expect(page.locator("#tasks")).not_to_contain_text("weather")
    # the earlier accepted upload is still listed, below the rejected one
    reports = page.locator("details.upload-report")
    expect(reports).to_have_count(2)
    expect(reports.nth(1)).to_have_class(re.compile(r"\baccepted\b"))
    expect(reports.nth(1).locator(":scope > summary")).to_contain_text("good.zip")

    page.reload()
    expect(page.locator("#tasks tbody tr td")).to_have_text(task_cells)
    shot(page, "after-reload")


@pytest.mark.timeout(180)
def test_wizard_refuses_invalid_values_and_back_next_keep_the_answers(page, server, shot):
    login(page, "bob")
    dataset_id = create_dataset(page, "Bob's pets", server.images)
    page.goto(f"/runs/new/?dataset={dataset_id}")
    expect(page).to_have_url(re.compile(r"/runs/new/dataset/$"))
    expect(page.locator("#id_dataset option:checked")).to_have_text("Bob's pets")
    page.click("button[value=next]")

    expect(page.locator("#step-method")).to_be_visible()
    strategy_boxes = page.locator("#field-use_diversity, #field-use_scores, #field-balance_classes")
    # no predictions: coreset is the default (no strategy choices), coral cannot be picked
    expect(page.locator("input[name=method][value=coreset]")).to_be_checked()
    expect(page.locator("input[name=method][value=coral]")).to_be_disabled()
    expect(strategy_boxes.first).to_be_hidden()
    page.check("input[name=method][value=strategies]")
    for i in range(3):
        expect(strategy_boxes.nth(i)).to_be_visible()
    page.check("input[name=method][value=coreset]")
    expect(strategy_boxes.first).to_be_hidden()
    page.click("button[value=next]")  # coreset needs no task: the task step is skipped

    expect(page).to_have_url(re.compile(r"/runs/new/stopping/$"))
    stopping = page.locator("#step-stopping")
    n_samples_error = page.locator("#field-n_samples .error")
    for value, error in (
        ("-5", "-5 is neither a count >= 1 nor a fraction between 0 and 1."),
        ("abc", "'abc' is not a number: give a count (e.g. 100) or a fraction (e.g. 0.1)."),
        ("2.5", "2.5 is neither a count >= 1 nor a fraction between 0 and 1."),
    ):
        page.fill("#id_n_samples", value)
        page.click("button[value=next]")
        page.wait_for_load_state()
        expect(page).to_have_url(re.compile(r"/runs/new/stopping/$"))  # did not advance
        expect(stopping.locator("h2")).to_contain_text("Stopping condition")
        expect(page.locator("#field-n_samples")).to_have_class(re.compile(r"\bhas-error\b"))
        expect(n_samples_error).to_have_text(error)
        expect(page.locator("#id_n_samples")).to_have_value(value)  # what was typed is kept
        shot(page, f"stopping-invalid-{value}")

    page.fill("#id_n_samples", "")
    page.fill("#id_min_distance", "")
    page.click("button[value=next]")
    expect(page).to_have_url(re.compile(r"/runs/new/stopping/$"))
    expect(stopping.locator(".errors[role=alert]")).to_have_text("Set the number of samples, a minimum distance, or both.")
    shot(page, "stopping-empty")

    page.fill("#id_min_distance", "-1")
    page.click("button[value=next]")
    expect(page).to_have_url(re.compile(r"/runs/new/stopping/$"))
    expect(page.locator("#field-min_distance .error")).to_contain_text("greater than or equal to 0")

    # valid values move on
    page.fill("#id_n_samples", "25")
    page.fill("#id_min_distance", "0.5")
    page.click("button[value=next]")
    expect(page).to_have_url(re.compile(r"/runs/new/embeddings/$"))
    expect(page.locator("#field-n_samples .error")).to_have_count(0)

    # an invalid value on another step: refused in place as well
    page.fill("#id_input_size", "8")
    page.click("button[value=next]")
    expect(page).to_have_url(re.compile(r"/runs/new/embeddings/$"))
    expect(page.locator("#field-input_size .error")).to_have_text("Ensure this value is greater than or equal to 16.")
    shot(page, "embeddings-invalid")
    page.fill("#id_input_size", "48")
    page.fill("#id_num_ftrs", "16")

    # Back, Back, Back: every step shows what was entered
    page.click("button[value=back]")
    expect(page).to_have_url(re.compile(r"/runs/new/stopping/$"))
    expect(page.locator("#id_n_samples")).to_have_value("25")
    expect(page.locator("#id_min_distance")).to_have_value("0.5")
    shot(page, "stopping-after-back")
    page.click("button[value=back]")
    expect(page).to_have_url(re.compile(r"/runs/new/method/$"))
    expect(page.locator("input[name=method][value=coreset]")).to_be_checked()
    shot(page, "method-after-back")

    # Next, Next, Next: the same values again, including the step left with Back
    page.click("button[value=next]")
    expect(page).to_have_url(re.compile(r"/runs/new/stopping/$"))
    expect(page.locator("#id_n_samples")).to_have_value("25")
    expect(page.locator("#id_min_distance")).to_have_value("0.5")
    page.click("button[value=next]")
    expect(page).to_have_url(re.compile(r"/runs/new/embeddings/$"))
    expect(page.locator("#id_input_size")).to_have_value("48")
    expect(page.locator("#id_num_ftrs")).to_have_value("16")
    shot(page, "embeddings-after-next")
    page.click("button[value=next]")
    page.click("button[value=next]")

    expect(page).to_have_url(re.compile(r"/runs/new/review/$"))
    worker = json.loads(page.locator("#id_worker_config").input_value())
    assert worker["method"] == "coreset"
    assert worker["stopping_condition"] == {"n_samples": 25, "min_distance": 0.5}
    lightly = json.loads(page.locator("#id_lightly_config").input_value())
    assert lightly["collate"]["input_size"] == 48
    assert lightly["model"]["num_ftrs"] == 16
    shot(page, "review")

    # invalid JSON on the review step is refused in place too, and nothing is queued
    page.fill("#id_worker_config", '{"method": "coreset",')
    page.click("button[value=queue]")
    expect(page).to_have_url(re.compile(r"/runs/new/review/$"))
    expect(page.locator("#field-worker_config .error")).to_contain_text("worker_config, line 1: invalid JSON")
    shot(page, "review-invalid-json")
    page.goto("/runs/")
    expect(page.locator("main")).not_to_contain_text("Bob's pets")


@pytest.mark.timeout(120)
def test_dataset_outside_the_allowed_roots_is_refused_with_the_reason(page, server, shot):
    login(page, "bob")
    outside = server.data_dir / "elsewhere"
    outside.mkdir(exist_ok=True)
    escape = server.root / "escape"  # inside the root by name, outside once resolved
    if not escape.exists():
        escape.symlink_to(outside, target_is_directory=True)
    missing = server.root / "no-such-folder"

    for step, path, reason in (
        ("outside", outside, (f"{outside} is not under an allowed datasource root ({server.root.resolve()}); "
                              "ask your admin to add it to WINNOW_DATASOURCE_ROOTS.")),
        ("symlink", escape, f"{escape} is not under an allowed datasource root"),
        ("relative", "datasources/pets", "datasources/pets is not an absolute path."),
        ("missing", missing, f"{missing} does not exist or is not a folder."),
    ):
        page.goto("/datasets/new/")
        page.fill("#id_name", f"Refused {step}")
        page.select_option("#id_source_type", "local")
        page.fill("#id_path", str(path))
        page.click("button:has-text('Save and test the connection')")
        page.wait_for_load_state()
        expect(page).to_have_url(re.compile(r"/datasets/new/$"))  # not saved, still the form
        expect(page.locator("#field-path")).to_have_class(re.compile(r"\bhas-error\b"))
        expect(page.locator("#field-path .error")).to_contain_text(reason)
        expect(page.locator("#id_name")).to_have_value(f"Refused {step}")
        expect(page.locator("#id_path")).to_have_value(str(path))
        shot(page, f"refused-{step}")

    page.goto("/datasets/")
    expect(page.locator("main")).not_to_contain_text("Refused")
    shot(page, "datasets-list")
