"""Plots are drawn at the width of their cards on first load, at common window widths, with no
page-wide horizontal overflow; the nearest-neighbour histogram and the dashboard's runs-per-day
chart show their whole range (every bar, the whole 30-day window)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from .conftest import GALLERY_USER, login
from .walk import WIDTHS, check_plot_sizes

#: The x range plotly drew (log axes in log10 units) and the extent of the bars.
BAR_RANGE = """id => { const gd = document.getElementById(id), xa = gd._fullLayout.xaxis;
    const log = xa.type === 'log', f = v => log ? Math.log10(v) : v;
    let low = Infinity, high = -Infinity;
    gd._fullData.forEach(d => Array.from(d.x).forEach((x, i) => {
        const w = d.width === undefined ? 0 : (typeof d.width === 'number' ? d.width : d.width[i]);
        low = Math.min(low, f(x - w / 2)); high = Math.max(high, f(x + w / 2)); }));
    return {range: xa.range.map(Number), low, high, type: xa.type}; }"""


@pytest.mark.timeout(500)
def test_run_plots_fill_their_cards_at_common_widths(browser, server, det_run, shot):
    for width in WIDTHS:
        context = browser.new_context(base_url=server.url, viewport={"width": width, "height": 900})
        try:
            page = context.new_page()
            login(page, GALLERY_USER)
            page.goto(f"/runs/{det_run.run}/plots/")
            expect(page.locator("#plot-map.js-plotly-plot")).to_be_attached()
            expect(page.locator("#plot-scores .js-plotly-plot").first).to_be_attached()
            page.wait_for_load_state("networkidle")
            sizes = check_plot_sizes(page, f"plots at {width}px")
            names = [s["name"] for s in sizes]
            assert "plot-map" in names and "plot-distances" in names and len(names) >= 4, names
            # the map spans the main column; the histograms share rows but never shrink to a sliver
            widths = {s["name"]: s["drawn"] for s in sizes}
            assert all(w >= 380 for w in widths.values()), widths

            bars = page.evaluate(BAR_RANGE, "plot-distances")
            assert bars["type"] == "log"
            assert bars["range"][0] <= bars["low"] + 1e-6 and bars["range"][1] >= bars["high"] - 1e-6, bars
            shot(page, f"plots-{width}")
        finally:
            context.close()


@pytest.mark.timeout(400)
def test_the_dashboard_chart_fills_its_card_and_shows_the_whole_window(browser, server, staff_user, det_run, shot):
    username, password = staff_user
    for width in WIDTHS:
        context = browser.new_context(base_url=server.url, viewport={"width": width, "height": 900})
        try:
            page = context.new_page()
            login(page, username, password)
            page.goto("/dashboard/")
            expect(page.locator("#plot-runs.js-plotly-plot")).to_be_attached()
            page.wait_for_load_state("networkidle")
            check_plot_sizes(page, f"dashboard at {width}px")
            drawn = page.evaluate("""() => ({range: document.getElementById('plot-runs')._fullLayout.xaxis.range,
                                             data: JSON.parse(document.getElementById('runs-by-day').textContent)})""")
            low, high = (datetime.fromisoformat(r) for r in drawn["range"])  # plotly dates: "2026-11-01 12:00"
            since, until = (datetime.fromisoformat(drawn["data"][k]) for k in ("since", "until"))
            half_day = timedelta(hours=12)
            assert until - since == timedelta(days=30)
            assert low <= since - half_day + timedelta(seconds=1) and high >= until + half_day - timedelta(seconds=1), drawn
            assert all(low < datetime.fromisoformat(day) < high for day in drawn["data"]["days"]), drawn
            # each day's bar is about a 31st of the plot wide, not a sliver
            bars = page.evaluate("""() => Array.from(document.querySelectorAll('#plot-runs .barlayer .point path'))
                .map(p => p.getBoundingClientRect().width).filter(w => w > 0)""")
            plot_width = page.evaluate("() => document.querySelector('#plot-runs .nsewdrag').getBoundingClientRect().width")
            assert bars and min(bars) >= 0.5 * plot_width / 31, (bars, plot_width)
            shot(page, f"dashboard-{width}")
        finally:
            context.close()
