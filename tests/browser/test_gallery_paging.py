"""Paging deep into a large run: Next several times (no sample twice, scores keep falling),
Previous and First, the last page from a deep cursor, and lowest-first against highest-first."""

from __future__ import annotations

import base64
import json
import re

import pytest
from playwright.sync_api import expect

from .conftest import GALLERY_USER, LARGE_N, gallery_items, login

PAGE_SIZE = 60
PAGES_FORWARD = 6


def _names(rows) -> list[str]:
    return [r["filename"] for r in rows]


def _cursor(sample: dict) -> str:
    """The gallery's keyset cursor after ``sample`` in the score order: (score, id), as in its links."""
    return base64.urlsafe_b64encode(json.dumps([sample["score"], sample["pk"]]).encode()).decode().rstrip("=")


@pytest.mark.timeout(300)
def test_paging_forward_back_and_deep_in_a_large_run(page, large_run, shot):
    login(page, GALLERY_USER)
    ordered = large_run.view("all")
    assert len(ordered) == LARGE_N
    count_text = f"{LARGE_N:,} matching samples"
    page.goto(f"/runs/{large_run.run}/gallery/?tab=all")
    expect(page.locator("#match-count")).to_have_text(count_text)
    expect(page.locator("#prev-page")).to_have_count(0)
    expect(page.locator("#first-page")).to_have_count(0)

    # -- Next, several times: consecutive slices of the score order, nothing repeated
    seen: list[str] = []
    last_score = float("inf")
    for number in range(1, PAGES_FORWARD + 1):
        shown = gallery_items(page)
        assert len(shown) == PAGE_SIZE, f"page {number} shows {len(shown)} samples"
        assert _names(shown) == _names(ordered[(number - 1) * PAGE_SIZE: number * PAGE_SIZE]), f"page {number}"
        scores = [float(s["score"]) for s in shown]
        assert scores[0] < last_score and scores == sorted(scores, reverse=True), f"page {number}: scores not falling"
        last_score = scores[-1]
        assert not set(_names(shown)) & set(seen), f"page {number} repeats samples of earlier pages"
        seen += _names(shown)
        expect(page.locator("#match-count")).to_have_text(count_text)  # the count is the whole view's
        if number > 1:
            expect(page.locator("#prev-page")).to_be_visible()
            expect(page.locator("#first-page")).to_be_visible()
        if number in (1, PAGES_FORWARD):
            shot(page, f"page-{number}")
        if number < PAGES_FORWARD:
            page.click("#next-page")
            page.wait_for_load_state()
            expect(page).to_have_url(re.compile(r"[?&]after="))
    assert len(seen) == PAGES_FORWARD * PAGE_SIZE

    # -- Previous walks back one page; First goes to the start
    page.click("#prev-page")
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"[?&]before="))
    assert _names(gallery_items(page)) == _names(ordered[(PAGES_FORWARD - 2) * PAGE_SIZE: (PAGES_FORWARD - 1) * PAGE_SIZE])
    page.click("#prev-page")
    page.wait_for_load_state()
    assert _names(gallery_items(page)) == _names(ordered[(PAGES_FORWARD - 3) * PAGE_SIZE: (PAGES_FORWARD - 2) * PAGE_SIZE])
    page.click("#next-page")  # forward again from a page reached backwards
    page.wait_for_load_state()
    assert _names(gallery_items(page)) == _names(ordered[(PAGES_FORWARD - 2) * PAGE_SIZE: (PAGES_FORWARD - 1) * PAGE_SIZE])
    page.click("#first-page")
    page.wait_for_load_state()
    assert _names(gallery_items(page)) == _names(ordered[:PAGE_SIZE])
    expect(page.locator("#prev-page")).to_have_count(0)

    # -- deep: the page after sample 2,940 of 3,000 (a bookmarked link) is the last page
    position = LARGE_N - PAGE_SIZE
    page.goto(f"/runs/{large_run.run}/gallery/?tab=all&after={_cursor(ordered[position - 1])}")
    expect(page.locator("#match-count")).to_have_text(count_text)
    last_page = gallery_items(page)
    assert _names(last_page) == _names(ordered[position:])
    # it ends with the samples that have no score (blank), in id order, after every scored one
    unscored = [s for s in last_page if not s["shown_score"].strip()]
    assert unscored and last_page[-len(unscored):] == unscored
    expect(page.locator("#next-page")).to_have_count(0)
    expect(page.locator("#prev-page")).to_be_visible()
    shot(page, "last-page")
    page.click("#prev-page")
    page.wait_for_load_state()
    assert _names(gallery_items(page)) == _names(ordered[position - PAGE_SIZE: position])
    expect(page.locator("#next-page")).to_be_visible()
    shot(page, "second-to-last-page")

    # -- lowest first: its first page is highest-first's last page, reversed
    page.goto(f"/runs/{large_run.run}/gallery/?tab=all")
    page.select_option("#filters select[name=order]", "asc")
    page.click("#filters button:has-text('Apply')")
    page.wait_for_load_state()
    expect(page.locator("#filters select[name=order] option:checked")).to_have_text("lowest first")
    expect(page.locator("#match-count")).to_have_text(count_text)
    assert _names(gallery_items(page)) == _names(ordered[position:])[::-1]
    shot(page, "lowest-first")
    page.click("#next-page")
    page.wait_for_load_state()
    assert _names(gallery_items(page)) == _names(ordered[position - PAGE_SIZE: position])[::-1]

    # -- a filtered view pages the same way (selected tab, one class), to its end
    cats = [s for s in large_run.view("selected") if "cat" in s["class_list"]]
    page.goto(f"/runs/{large_run.run}/gallery/?tab=selected&class=cat")
    expect(page.locator("#match-count")).to_have_text(f"{len(cats):,} matching samples")
    walked: list[str] = []
    for _ in range(len(cats) // PAGE_SIZE + 1):
        walked += _names(gallery_items(page))
        if page.locator("#next-page").count() == 0:
            break
        page.click("#next-page")
        page.wait_for_load_state()
    assert walked == _names(cats)
    shot(page, "selected-cats-last-page")
