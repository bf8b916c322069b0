"""The run's plots: plotly draws the embedding map with one point per embedded sample (selected
and not), hovering a point shows its thumbnail, clicking it opens the sample; the same map for
a run of thousands of samples."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import GALLERY_USER, LARGE_N, LARGE_SELECTED, login

#: The traces as plotly.js drew them (``_fullData``: the base64 arrays plotly.py sends, decoded).
TRACES = """() => document.getElementById('plot-map')._fullData.map(d => ({
    name: d.name, type: d.type, n: d._length, xs: d.x.length, texts: Array.from(d.text),
    links: Array.from(d.customdata, c => c[0])}))"""

#: The page position of the selected point farthest (in pixels) from any other point.
LONELY_SELECTED_POINT = """() => {
    const gd = document.getElementById('plot-map');
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
    const px = (x, y) => [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)];
    const traces = gd._fullData;
    const all = traces.flatMap(d => Array.from(d.x, (x, i) => px(x, d.y[i])));
    const chosen = traces.find(d => d.name.startsWith('selected'));
    let best = null;
    Array.from(chosen.x).forEach((x, i) => {
        const [X, Y] = px(x, chosen.y[i]);
        const gap = Math.min(...all.map(([a, b]) => Math.hypot(a - X, b - Y)).filter(d => d > 0.001));
        if (!best || gap > best.gap) best = {x: X, y: Y, gap, text: chosen.text[i],
                                            link: chosen.customdata[i][0], thumb: chosen.customdata[i][1]};
    });
    return best;
}"""


def _wait_for_map(page) -> None:
    expect(page.locator("#plot-map.js-plotly-plot")).to_be_attached()
    expect(page.locator("#plot-map canvas").first).to_be_attached()  # scattergl draws with WebGL
    page.wait_for_function("() => { const gd = document.getElementById('plot-map'); return gd._fullLayout && gd._fullData && gd._fullData.length > 0; }")


@pytest.mark.timeout(400)
def test_embedding_map_draws_its_points_hover_shows_the_image_click_opens_it(page, det_run, large_run, shot):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(page, GALLERY_USER)
    page.goto(f"/runs/{det_run.run}/plots/")
    _wait_for_map(page)
    expect(page.locator("h1")).to_contain_text(f"Plots run {det_run.run} on Detections")

    # -- two WebGL traces, one point per embedded sample, linked to that sample's page
    embedded = {name: s for name, s in det_run.samples.items() if s["x"] is not None}
    assert len(embedded) >= len(det_run.samples) - 2, det_run.samples
    traces = {t["name"]: t for t in page.evaluate(TRACES)}
    assert set(traces) == {"selected", "not selected"}, list(traces)
    assert all(t["type"] == "scattergl" for t in traces.values())
    for name, selected in (("selected", True), ("not selected", False)):
        expected = {f for f, s in embedded.items() if s["selected"] == selected}
        assert traces[name]["n"] == traces[name]["xs"] == len(expected)
        assert set(traces[name]["texts"]) == expected
        assert {link.rstrip("/").rsplit("/", 1)[1] for link in traces[name]["links"]} == {str(embedded[f]["pk"]) for f in expected}
    assert traces["selected"]["n"] == sum(s["selected"] for s in embedded.values()) > 0
    legend = page.locator("#plot-map .legend .legendtext")
    expect(legend).to_have_text(["not selected", "selected"])

    # the other plots of a real run are drawn too: score histograms and neighbour distances
    expect(page.locator("#plot-distances.js-plotly-plot")).to_be_attached()
    expect(page.locator("#plot-scores .js-plotly-plot").first).to_be_attached()
    page.wait_for_load_state("networkidle")
    shot(page, "plots")

    # -- hover a selected point: its thumbnail appears next to the pointer
    thumb = page.locator("img#hover-thumb")
    expect(thumb).to_be_hidden()
    point = page.evaluate(LONELY_SELECTED_POINT)
    page.mouse.move(point["x"] - 30, point["y"] - 30)
    page.mouse.move(point["x"], point["y"], steps=5)
    expect(thumb).to_be_visible()
    assert thumb.get_attribute("src") == point["thumb"]
    page.wait_for_function("() => { const i = document.getElementById('hover-thumb'); return i.complete && i.naturalWidth > 0; }")
    expect(page.locator("#plot-map .hoverlayer")).to_contain_text(point["text"])
    shot(page, "hover")

    # -- click it: the sample's page
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url(re.compile(re.escape(point["link"]) + "$"))
    expect(page.locator("h1")).to_contain_text(point["text"])
    expect(page.locator("svg#annotated")).to_be_visible()
    shot(page, "clicked-sample")

    # -- a run of thousands: every sample on the map (under the down-sampling limit)
    page.goto(f"/runs/{large_run.run}/plots/")
    _wait_for_map(page)
    traces = {t["name"]: t["n"] for t in page.evaluate(TRACES)}
    assert traces == {"not selected": LARGE_N - LARGE_SELECTED, "selected": LARGE_SELECTED}
    # a run without score or distance files: those cards are hidden, not empty
    expect(page.locator("#plot-distances")).to_be_hidden()
    page.wait_for_load_state("networkidle")
    shot(page, "large-run-map")
    assert errors == [], errors
