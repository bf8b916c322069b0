"""The evaluation page in a browser: a user starts an evaluation of 200 real digits (one folder per
class) from the dataset page, the real worker runs it while the page shows progress, and the
finished page shows the recommendation, the methods table and the accuracy curves drawn by
plotly (a line and a ±1 std band per method), sized to their card, also after a resize."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.digits import write_digit_folders

from .conftest import _manage, create_dataset, login

USER = ("evaluator", "evaluator-browser-pass-1")
METHODS = ["random", "coreset", "coral", "cold-start"]

#: Each trace as plotly drew it, and how many SVG paths it left in the plot.
TRACES = """() => { const gd = document.getElementById('plot-1');
    return gd._fullData.map((d, i) => ({name: d.name, mode: d.mode, fill: d.fill, n: d._length,
        x: Array.from(d.x), showlegend: d.showlegend})); }"""

#: Widths (px) of the plot's SVG and of its card's content box.
SIZES = """() => { const el = document.getElementById('plot-1'), card = el.closest('.card');
    const style = getComputedStyle(card), svg = el.querySelector('svg.main-svg').getBoundingClientRect();
    return {svg: svg.width, height: svg.height,
            card: card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)}; }"""


@pytest.fixture(scope="module")
def evaluator(server):
    folder = server.root / "digits"
    write_digit_folders(folder, 200)
    _manage(server.env, "shell", "-c", (
        "from django.contrib.auth import get_user_model\n"
        f"get_user_model().objects.create_user({USER[0]!r}, password={USER[1]!r})\n"
    ))
    return folder


@pytest.mark.timeout(400)
def test_a_finished_evaluation_shows_its_recommendation_table_and_curves(page, evaluator, shot):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(page, USER[0], USER[1])
    dataset = create_dataset(page, "Digits", evaluator)

    # -- from the dataset page to the form, a small protocol, labels from the folders
    page.click("a#evaluate")
    expect(page.locator("h1")).to_contain_text("Evaluate selection on your labeled data")
    expect(page.locator("input[name=labels_source][value=folders]")).to_be_checked()
    for field, value in (("initial", "10"), ("per_round", "10"), ("rounds", "2"), ("seeds", "2"), ("input_size", "32")):
        page.fill(f"#id_{field}", value)
    shot(page, "form")
    page.click("button:has-text('Start the evaluation')")
    page.wait_for_url(re.compile(r"/evaluations/\d+/$"))
    expect(page.locator("#labels")).to_have_text("the image folders: 200 images in 10 classes")
    shot(page, "queued")

    # -- the worker runs it; the page follows and reloads when it is done
    expect(page.locator("#state")).to_have_text(re.compile(r"^(completed|failed|canceled)$"), timeout=300_000)
    expect(page.locator("#status[data-finished=true]")).to_be_attached(timeout=30_000)
    page.wait_for_load_state()
    if page.locator("#state").inner_text().strip() != "completed":
        raise AssertionError(f"the evaluation ended {page.locator('#state').inner_text()!r}: {page.locator('#error').inner_text()}")

    # -- the recommendation and the table
    expect(page.locator("#recommendation .lead")).to_have_text(re.compile(r"^(Use \S+ on the random weights embeddings|No method beat random)"))
    rows = page.locator("#methods tbody tr")
    expect(rows).to_have_count(4)
    assert [re.sub(r"\s*\(recommended\)", "", t).strip() for t in rows.locator("td:nth-child(2)").all_inner_texts()] == METHODS

    # -- the curves: plotly drew a line with markers and a filled band per method
    expect(page.locator("#plot-1.js-plotly-plot svg.main-svg").first).to_be_attached()
    page.wait_for_function("() => { const gd = document.getElementById('plot-1'); return gd._fullData && gd._fullData.length === 8; }")
    traces = page.evaluate(TRACES)
    lines = [t for t in traces if t["mode"] == "lines+markers"]
    bands = [t for t in traces if t["fill"] == "toself"]
    assert [t["name"] for t in lines] == METHODS
    assert all(t["x"] == [10, 20, 30] for t in lines), lines
    assert len(bands) == 4 and all(t["n"] == 6 and not t["showlegend"] for t in bands)
    expect(page.locator("#plot-1 .scatterlayer .trace")).to_have_count(8)
    expect(page.locator("#plot-1 .scatterlayer .trace .js-fill")).to_have_count(4)
    expect(page.locator("#plot-1 .scatterlayer .trace .point")).to_have_count(4 * 3)
    expect(page.locator("#plot-1 .legend .legendtext")).to_have_text(METHODS)
    expect(page.locator("#plot-1 .gtitle")).to_have_text("Accuracy vs labeled samples · embeddings: random weights")

    # -- sized to its card, and still after the window narrows
    sizes = page.evaluate(SIZES)
    assert abs(sizes["svg"] - sizes["card"]) <= 2 and sizes["height"] == 420, sizes
    page.wait_for_load_state("networkidle")
    shot(page, "completed")
    page.set_viewport_size({"width": 900, "height": 900})
    page.wait_for_function(f"""() => {{ const s = ({SIZES})(); return s.card < {sizes['card'] - 100} && Math.abs(s.svg - s.card) <= 2; }}""")
    shot(page, "completed-narrow")

    # -- the dataset page lists it
    page.goto(f"/datasets/{dataset}/")
    expect(page.locator("#evaluations tbody tr")).to_have_count(1)
    expect(page.locator("#evaluations tbody tr .state")).to_have_text("completed")
    assert errors == [], errors
