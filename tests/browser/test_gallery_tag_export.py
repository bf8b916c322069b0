"""Tags: "Tag all" on a filtered gallery view tags every match (not only the page shown); the
dataset page lists the tag and its CSV / JSON downloads hold exactly those images. A completed
run tags its own selection."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from .conftest import DET_N_SELECTED, GALLERY_USER, login
from .walk import download

TAG = "sunny-dogs"


def _download(page, link) -> tuple[str, str]:
    name, data = download(page, link)
    return name, data.decode()


@pytest.mark.timeout(300)
def test_tag_a_filtered_view_then_export_it_from_the_dataset_page(page, large_run, det_run, shot):
    login(page, GALLERY_USER)
    matching = sorted(
        s["filename"] for s in large_run.samples if "dog" in s["class_list"] and s["metadata"]["weather"] == "sunny"
    )
    assert len(matching) > 60  # more than one page: "Tag all" must not stop at the page shown
    page.goto(f"/runs/{large_run.run}/gallery/?tab=all&class=dog&meta_key=weather&meta_value=sunny")
    expect(page.locator("#match-count")).to_have_text(f"{len(matching):,} matching samples")
    expect(page.locator(".tag-form button")).to_have_text(f"Tag all {len(matching):,}")

    page.fill(".tag-form input[name=name]", TAG)
    page.click(".tag-form button")
    page.wait_for_load_state()
    expect(page.locator(".messages .msg-success")).to_have_text(f"Tagged {len(matching)} images as {TAG}.")
    # back on the same view, and the new tag is a filter of the gallery
    expect(page).to_have_url(re.compile(r"/gallery/\?(?=.*\bclass=dog)(?=.*\bmeta_value=sunny)(?=.*\btab=all)"))
    expect(page.locator("#match-count")).to_have_text(f"{len(matching):,} matching samples")
    expect(page.locator("#filters select[name=tag] option", has_text=TAG)).to_have_text(f"{TAG} ({len(matching)})")
    shot(page, "tagged")

    # the same name twice is refused, and nothing changes
    page.fill(".tag-form input[name=name]", TAG)
    page.click(".tag-form button")
    page.wait_for_load_state()
    expect(page.locator(".messages .msg-error")).to_have_text(f"The dataset already has a tag named {TAG}.")

    # the tag as a gallery filter: exactly its images
    page.goto(f"/runs/{large_run.run}/gallery/?tab=all")
    page.select_option("#filters select[name=tag]", label=f"{TAG} ({len(matching)})")
    page.click("#filters button:has-text('Apply')")
    page.wait_for_load_state()
    expect(page.locator("#match-count")).to_have_text(f"{len(matching):,} matching samples")
    shown = page.locator("figure.sample").evaluate_all("els => els.map(e => e.dataset.filename)")
    assert set(shown) <= set(matching) and len(shown) == 60
    shot(page, "filtered-by-tag")

    # -- the dataset page lists it, with where it came from; the CSV and JSON hold its images
    page.goto(f"/datasets/{large_run.dataset}/")
    row = page.locator("#tags tbody tr", has=page.locator("td", has_text=re.compile(rf"^{TAG}$")))
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text(str(len(matching)))
    expect(row.locator("td").nth(2)).to_contain_text(f"run {large_run.run}")
    expect(row.locator("td").nth(2)).to_contain_text("cls=dog")
    expect(row.locator("td").nth(2)).to_contain_text("meta_value=sunny")
    shot(page, "dataset-tags")

    name, text = _download(page, row.locator("a", has_text="CSV"))
    assert name == f"{TAG}.csv"
    assert text.splitlines() == ["filenames", *matching]

    name, text = _download(page, row.locator("a", has_text="JSON"))
    assert name == f"{TAG}.json"
    document = json.loads(text)
    assert document == {"tag": TAG, "dataset": "Large", "size": len(matching), "filenames": matching}

    # -- a completed run tagged its selection: the list export is the gallery's selected tab
    selected = sorted(f for f, s in det_run.samples.items() if s["selected"])
    assert len(selected) == DET_N_SELECTED
    page.goto(f"/datasets/{det_run.dataset}/")
    auto = page.locator("#tags tbody tr", has=page.locator("td", has_text=f"run-{det_run.run}-selected"))
    expect(auto).to_have_count(1)
    expect(auto.locator("td").nth(1)).to_have_text(str(DET_N_SELECTED))
    shot(page, "run-selection-tag")
    name, text = _download(page, auto.locator("a", has_text="list"))
    assert name == f"run-{det_run.run}-selected.txt"
    assert text.splitlines() == selected
