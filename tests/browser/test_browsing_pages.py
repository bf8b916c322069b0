"""The pages of a finished run as a user walks them in Chromium: gallery cards (every score by
name, the file's own name whole, selected or not at a glance), the sample page (why a removed
sample was left out, linked to the selected sample it was closest to; previous/next through
the gallery view; pixelated small images), Compare (one dataset's runs, linked thumbnails with
scores), the API docs and the favicon."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import DET_N_SELECTED, DET_TASK, GALLERY_USER, LARGE_N, login, seed

#: Each card: its filename, whether the file's own name (.base) is cut, the score names listed
#: (their full names), whether each name is cut, its frame and badge.
CARDS = """() => Array.from(document.querySelectorAll('figure.sample')).map(f => {
    const base = f.querySelector('.filename .base'), badge = f.querySelector('.pick-badge');
    return {filename: f.dataset.filename, title: f.querySelector('.filename').title,
            base: base.textContent, baseCut: base.scrollWidth > base.clientWidth + 1,
            scores: Array.from(f.querySelectorAll('.scores dt')).map(dt => dt.title),
            scoreCut: Array.from(f.querySelectorAll('.scores dt')).some(dt => dt.scrollWidth > dt.clientWidth + 1),
            border: getComputedStyle(f).borderTopStyle + ' ' + getComputedStyle(f).borderTopColor,
            badge: badge ? badge.textContent : null, badgeVisible: !!badge && badge.getBoundingClientRect().width > 0};
})"""


@pytest.mark.timeout(400)
def test_gallery_cards_show_every_score_whole_names_and_the_selection(page, large_run, det_run, shot):
    login(page, GALLERY_USER)
    page.goto(f"/runs/{large_run.run}/gallery/?tab=all")
    expect(page.locator("figure.sample")).to_have_count(60)
    page.wait_for_load_state("networkidle")
    cards = page.evaluate(CARDS)
    by_name = {s["filename"]: s for s in large_run.samples}
    for card in cards:
        sample = by_name[card["filename"]]
        assert card["title"] == card["filename"] and card["filename"].rsplit("/", 1)[-1] == card["base"]
        assert not card["baseCut"], card
        assert sorted(card["scores"]) == sorted(sample["scores"]), (card, sample["scores"])
        assert not card["scoreCut"], card
        assert card["badge"] == ("selected" if sample["selected"] else "not selected") and card["badgeVisible"]
    frames = {card["border"] for card in cards}
    assert len(frames) == 2, frames  # selected and not selected are framed differently
    assert any(c["badge"] == "selected" for c in cards) and any(c["badge"] == "not selected" for c in cards)
    shot(page, "gallery-all-cards")
    assert LARGE_N > 60

    page.goto(f"/runs/{det_run.run}/gallery/?tab=all")
    expect(page.locator("figure.sample")).to_have_count(len(det_run.samples))
    page.wait_for_load_state("networkidle")
    shot(page, "gallery-det-all-cards")


@pytest.mark.timeout(400)
def test_sample_page_explains_a_removed_sample_and_steps_through_the_view(page, det_run, shot):
    login(page, GALLERY_USER)
    page.goto(f"/runs/{det_run.run}/gallery/?tab=all&sort=filename&order=asc")
    order = page.locator("figure.sample").evaluate_all("els => els.map(e => e.dataset.filename)")
    assert order == sorted(det_run.samples)
    removed = next(name for name in order if not det_run.samples[name]["selected"] and det_run.samples[name]["x"] is not None)
    page.click(f'figure.sample[data-filename="{removed}"] a')
    page.wait_for_url(re.compile(rf"/samples/{det_run.samples[removed]['pk']}/\?tab=all&sort=filename&order=asc$"))
    why = page.locator("#why-removed")
    expect(why).to_be_visible()
    expect(why).to_contain_text("Not selected.")
    expect(why).to_contain_text("It was closest to the selected sample")
    closest = page.locator("#closest-selected").inner_text()
    assert det_run.samples[closest]["selected"], closest
    expect(why).to_contain_text(re.compile(r"at distance \d\.\d{3} in the embeddings"))
    # a small image (40x60) is drawn pixelated, not smoothed
    rendering = page.locator("svg#annotated image").first.evaluate("i => getComputedStyle(i).imageRendering")
    assert rendering == "pixelated"
    # metadata is rounded: no long tails of digits
    values = page.locator("#metadata td").all_inner_texts()
    assert values and not any(re.search(r"\.\d{4,}", v) for v in values), values
    shot(page, "removed-sample")

    # previous / next walk the gallery's order (by filename here)
    i = order.index(removed)
    if i + 1 < len(order):
        page.click("#next-sample")
        expect(page.locator("h1")).to_contain_text(order[i + 1])
        page.click("#prev-sample")
        expect(page.locator("h1")).to_contain_text(removed)
    if i > 0:
        page.click("#prev-sample")
        expect(page.locator("h1")).to_contain_text(order[i - 1])
        page.click("#next-sample")
        expect(page.locator("h1")).to_contain_text(removed)
    page.click("#back-to-gallery")
    expect(page).to_have_url(re.compile(r"/gallery/\?tab=all&sort=filename&order=asc$"))
    page.go_back()

    # the link to the closest selected sample opens it
    page.click("#closest-selected")
    expect(page.locator("h1")).to_contain_text(closest)
    expect(page.locator("h1 small")).to_contain_text("selected, rank")
    expect(page.locator("#why-removed")).to_have_count(0)
    shot(page, "closest-selected-sample")


@pytest.mark.timeout(600)
def test_compare_lists_one_datasets_runs_and_links_the_thumbnails(page, server, det_run, large_run, shot):
    second = seed(server, "another_run", dataset=det_run.dataset,
                  worker_config={"method": "random", "stopping_condition": {"n_samples": DET_N_SELECTED}},
                  lightly_config={"collate": {"input_size": 32}, "loader": {"num_workers": 0}})["run"]
    login(page, GALLERY_USER)
    page.goto(f"/runs/{second}/")
    expect(page.locator("#state")).to_have_text(re.compile(r"^(completed|failed|canceled)$"), timeout=240_000)
    assert page.locator("#state").inner_text().strip() == "completed"

    page.goto(f"/runs/compare/?a={det_run.run}")
    runs = page.locator("select[name=a] option").evaluate_all("os => os.map(o => o.value)")
    assert sorted(map(int, runs)) == sorted([det_run.run, second])  # not the Large dataset's run
    expect(page.locator("select[name=dataset]")).to_have_value(str(det_run.dataset))
    page.select_option("select[name=b]", str(second))
    page.click("#compare-runs button:has-text('Compare')")
    expect(page.locator("#overlap")).to_be_visible()
    figures = page.locator("#only-a figure")
    if figures.count() == 0:
        figures = page.locator("#only-b figure")
    assert figures.count() > 0, "the two runs selected the same images"
    first = figures.first
    name = first.locator("img").get_attribute("alt")
    expect(first.locator(f'dt[title="{DET_TASK}/objectness_least_confidence"]')).to_have_count(1)
    page.wait_for_load_state("networkidle")
    shot(page, "compare")
    first.locator("a").click()
    expect(page.locator("h1")).to_contain_text(name)

    # the dataset picker: choosing Large lists only its run
    page.goto("/runs/compare/")
    page.select_option("select[name=dataset]", str(large_run.dataset))
    page.click("#compare-dataset button")
    runs = page.locator("select[name=a] option").evaluate_all("os => os.map(o => o.value)")
    assert runs == [str(large_run.run)]


@pytest.mark.timeout(300)
def test_api_docs_read_cleanly_and_pages_carry_the_favicon(page, server, det_run, shot):
    login(page, GALLERY_USER)
    icon = page.locator("link[rel=icon]").first.get_attribute("href")
    response = page.request.get(icon)
    assert response.status == 200 and response.headers["content-type"].startswith("image/")
    page.goto("/api/docs/")
    headings = page.locator("section.api-group > h2").all_inner_texts()
    assert headings and len(headings) == len(set(headings)), headings
    text = page.locator("main").inner_text()
    assert "``" not in text and "UploadActions" not in text
    page.locator("details.api-op").first.evaluate("d => d.open = true")
    shot(page, "api-docs")
    page.goto("/api/v1/")
    expect(page.locator("body")).to_contain_text("/api/v1/runs/{id}/artifacts/{name}")
    shot(page, "api-root")
    # a reload of a dataset form's address (GET) lands on the dataset page, not a blank 405
    page.goto(f"/datasets/{det_run.dataset}/test/")
    expect(page).to_have_url(re.compile(rf"/datasets/{det_run.dataset}/$"))
    expect(page.locator("h1")).to_have_text("Detections")
