"""Sorting a large run's gallery: score highest and lowest first, filename both ways, a metadata
value, and the selection rank; each page is the right slice of the order the data gives."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import GALLERY_USER, LARGE_PRIMARY, gallery_items, login

PAGE_SIZE = 60


def _sort(page, sort: str, order: str = "") -> None:
    page.select_option("#filters select[name=sort]", sort)
    page.select_option("#filters select[name=order]", order)
    page.click("#filters button:has-text('Apply')")
    page.wait_for_load_state()


def _names(rows) -> list[str]:
    return [r["filename"] for r in rows]


@pytest.mark.timeout(300)
def test_sorting_by_score_filename_metadata_and_rank(page, large_run, shot):
    login(page, GALLERY_USER)
    everything = large_run.view("all")
    selected = large_run.view("selected")
    page.goto(f"/runs/{large_run.run}/gallery/?tab=selected")

    # -- the default: score, highest first
    expect(page.locator("#filters select[name=sort] option:checked")).to_have_text(f"score ({LARGE_PRIMARY})")
    expect(page.locator("#filters select[name=order] option:checked")).to_have_text("natural order")
    shown = gallery_items(page)
    assert _names(shown) == _names(selected[:PAGE_SIZE])
    texts = [float(s["shown_score"]) for s in shown]
    assert texts == sorted(texts, reverse=True)
    shot(page, "score-highest-first")

    # -- score, lowest first (every selected sample has a score)
    _sort(page, "score", "asc")
    shown = gallery_items(page)
    assert _names(shown) == _names(selected[::-1][:PAGE_SIZE])
    texts = [float(s["shown_score"]) for s in shown]
    assert texts == sorted(texts)
    shot(page, "score-lowest-first")

    # -- selection rank: 1, 2, 3, ... (only on the selected tab)
    _sort(page, "rank")
    ranks = [s["rank"] for s in gallery_items(page)]
    assert ranks == [f"#{r}" for r in range(1, PAGE_SIZE + 1)]
    page.click("#next-page")
    page.wait_for_load_state()
    assert [s["rank"] for s in gallery_items(page)] == [f"#{r}" for r in range(PAGE_SIZE + 1, 2 * PAGE_SIZE + 1)]
    shot(page, "rank-page-2")

    # -- filename, A to Z then Z to A, over every sample; page 2 continues page 1
    page.click("[role=tab][data-tab=all]")
    expect(page.locator("#filters select[name=sort] option[value=rank]")).to_have_count(0)
    by_name = sorted(everything, key=lambda s: s["filename"])
    _sort(page, "filename")
    assert _names(gallery_items(page)) == _names(by_name[:PAGE_SIZE])
    shot(page, "filename-a-z")
    page.click("#next-page")
    page.wait_for_load_state()
    assert _names(gallery_items(page)) == _names(by_name[PAGE_SIZE: 2 * PAGE_SIZE])
    _sort(page, "filename", "desc")
    assert _names(gallery_items(page)) == _names(by_name[::-1][:PAGE_SIZE])
    shot(page, "filename-z-a")

    # -- a numeric metadata value, highest first by default (ties by id, like the cursor)
    by_brightness = sorted(everything, key=lambda s: (s["metadata"]["brightness"], s["pk"]), reverse=True)
    _sort(page, "meta:brightness")
    expect(page.locator("#filters select[name=sort] option:checked")).to_have_text("metadata: brightness")
    assert _names(gallery_items(page)) == _names(by_brightness[:PAGE_SIZE])
    page.click("#next-page")
    page.wait_for_load_state()
    assert _names(gallery_items(page)) == _names(by_brightness[PAGE_SIZE: 2 * PAGE_SIZE])
    shot(page, "brightness-page-2")

    # -- and back to score, highest first, on every sample: unscored ones come last
    _sort(page, "score", "desc")
    assert _names(gallery_items(page)) == _names(everything[:PAGE_SIZE])


@pytest.mark.timeout(300)
def test_sorting_by_a_text_metadata_value_orders_by_that_value(page, large_run, shot):
    login(page, GALLERY_USER)
    weather = {s["filename"]: s["metadata"]["weather"] for s in large_run.samples}
    page.goto(f"/runs/{large_run.run}/gallery/?tab=all")
    _sort(page, "meta:weather", "asc")
    expect(page.locator("#filters select[name=sort] option:checked")).to_have_text("metadata: weather")
    shot(page, "weather-a-z")
    shown = [weather[s["filename"]] for s in gallery_items(page)]
    assert shown == sorted(shown), f"not ordered by weather: {shown[:12]}"
