"""Filtering a large run's gallery: a score range, a class, a metadata value, and all together;
the count and every sample shown agree with the table the run was made from."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import GALLERY_USER, LARGE_N, gallery_items, login

PAGE_SIZE = 60


def _apply(page) -> None:
    page.click("#filters button:has-text('Apply')")
    page.wait_for_load_state()


def _check_view(page, expected: list[dict]) -> list[dict]:
    """The count says len(expected); the page shows its first PAGE_SIZE, in order."""
    expect(page.locator("#match-count")).to_have_text(f"{len(expected):,} matching sample{'s' if len(expected) != 1 else ''}")
    shown = gallery_items(page)
    assert [s["filename"] for s in shown] == [s["filename"] for s in expected[:PAGE_SIZE]]
    expect(page.locator(".tag-form button")).to_have_text(f"Tag all {len(expected):,}")
    return shown


@pytest.mark.timeout(300)
def test_score_range_class_and_metadata_filters_match_the_data(page, large_run, shot):
    login(page, GALLERY_USER)
    everything = large_run.view("all")
    page.goto(f"/runs/{large_run.run}/gallery/?tab=all")
    expect(page.locator("[role=tab].active")).to_have_text("all")
    _check_view(page, everything)
    expect(page.locator("#next-page")).to_be_visible()
    shot(page, "all")

    # -- a score range: both ends inclusive
    page.fill("#filters input[name=score_min]", "0.25")
    page.fill("#filters input[name=score_max]", "0.5")
    _apply(page)
    expect(page).to_have_url(re.compile(r"score_min=0\.25.*score_max=0\.5"))
    in_range = [s for s in everything if 0.25 <= s["score"] <= 0.5]
    assert 0 < len(in_range) < LARGE_N
    shown = _check_view(page, in_range)
    assert all(0.25 <= float(s["score"]) <= 0.5 for s in shown)
    expect(page.locator("#filters input[name=score_min]")).to_have_value("0.25")  # the form keeps the filter
    shot(page, "score-range")

    # an upper bound alone: samples without the score (shown as -1 internally) do not match it
    page.fill("#filters input[name=score_min]", "")
    page.fill("#filters input[name=score_max]", "0.02")
    _apply(page)
    low = [s for s in everything if -1 < s["score"] <= 0.02]
    shown = _check_view(page, low)
    assert all(s["shown_score"] for s in shown), "a sample without a score matched a score range"
    shot(page, "score-max-only")

    # -- a class
    page.click("a.button:has-text('Reset')")
    expect(page.locator("#filters input[name=score_max]")).to_have_value("")
    page.select_option("#filters select[name=class]", "bird")
    _apply(page)
    birds = [s for s in everything if "bird" in s["class_list"]]
    shown = _check_view(page, birds)
    by_name = {s["filename"]: s for s in everything}
    assert all("bird" in by_name[s["filename"]]["class_list"] for s in shown)
    expect(page.locator("#filters select[name=class] option:checked")).to_have_text("bird")
    shot(page, "class-bird")

    # -- a metadata value (text), and a numeric one compared as the user typed it
    page.select_option("#filters select[name=class]", "")
    page.select_option("#filters select[name=meta_key]", "weather")
    page.fill("#filters input[name=meta_value]", "rain")
    _apply(page)
    rainy = [s for s in everything if s["metadata"]["weather"] == "rain"]
    shown = _check_view(page, rainy)
    assert all(by_name[s["filename"]]["metadata"]["weather"] == "rain" for s in shown)
    shot(page, "weather-rain")

    page.select_option("#filters select[name=meta_key]", "lightly.width")
    page.fill("#filters input[name=meta_value]", "32")
    _apply(page)
    _check_view(page, everything)
    page.fill("#filters input[name=meta_value]", "64")
    _apply(page)
    expect(page.locator("#match-count")).to_have_text("0 matching samples")
    expect(page.locator("#gallery .empty")).to_have_text("No samples match.")
    expect(page.locator("#next-page")).to_have_count(0)
    shot(page, "no-match")

    # -- everything at once, on the "removed" tab
    page.click("a.button:has-text('Reset')")
    page.click("[role=tab][data-tab=removed]")
    expect(page.locator("[role=tab].active")).to_have_text("removed")
    page.fill("#filters input[name=score_min]", "0.3")
    page.fill("#filters input[name=score_max]", "0.9")
    page.select_option("#filters select[name=class]", "cat")
    page.select_option("#filters select[name=meta_key]", "weather")
    page.fill("#filters input[name=meta_value]", "fog")
    _apply(page)
    combined = [
        s for s in large_run.view("removed")
        if 0.3 <= s["score"] <= 0.9 and "cat" in s["class_list"] and s["metadata"]["weather"] == "fog"
    ]
    assert len(combined) > PAGE_SIZE  # enough to need a second page
    shown = _check_view(page, combined)
    assert all(s["removed"] for s in shown)
    shot(page, "combined-removed")
    page.click("#next-page")
    page.wait_for_load_state()
    assert [s["filename"] for s in gallery_items(page)] == [s["filename"] for s in combined[PAGE_SIZE:2 * PAGE_SIZE]]
    expect(page.locator("#match-count")).to_have_text(f"{len(combined):,} matching samples")

    # -- a value the form cannot send: refused with the reason, back on the plain gallery
    page.goto(f"/runs/{large_run.run}/gallery/?tab=all&score_min=abc")
    expect(page).to_have_url(re.compile(rf"/runs/{large_run.run}/gallery/$"))
    expect(page.locator(".messages .msg-error")).to_have_text("score_min: 'abc' is not a number")
    shot(page, "bad-value")
