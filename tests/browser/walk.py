"""Checks the whole-path walks share with the page tests: plots drawn at their cards' width,
the sample page of a removed sample, and the selection's exports parsed as labeling tools read them."""

from __future__ import annotations

import contextlib
import io
import json
import re
import zipfile
from pathlib import Path

from playwright.sync_api import expect

#: The window widths plots are checked at.
WIDTHS = (1024, 1400, 1920)
#: How far (CSS px) a drawn plot may be from its card's content width.
TOLERANCE = 3

#: Each visible plot: its drawn svg width, its card's content width, and what names it.
MEASURE = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(gd => gd.offsetParent !== null).map(gd => {
    const card = gd.closest('.card'), style = getComputedStyle(card);
    const content = card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const svg = gd.querySelector('svg.main-svg');
    const title = gd._fullLayout.title && gd._fullLayout.title.text;
    return {name: gd.id || title || '?', drawn: svg.getBoundingClientRect().width, card: content};
})"""

SETTLED = """tolerance => { const gds = Array.from(document.querySelectorAll('.js-plotly-plot')).filter(gd => gd.offsetParent !== null);
    return gds.length > 0 && gds.every(gd => { const card = gd.closest('.card'), s = getComputedStyle(card);
        const w = card.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
        const svg = gd.querySelector('svg.main-svg'); return svg && Math.abs(svg.getBoundingClientRect().width - w) <= tolerance; }); }"""


def check_plot_sizes(page, where: str) -> list[dict]:
    """Every visible plot is drawn at its card's content width (within TOLERANCE) and the page
    does not overflow the window; the measured plots."""
    with contextlib.suppress(Exception):  # the assertion below says which plot is off, and by how much
        page.wait_for_function(SETTLED, arg=TOLERANCE, timeout=5_000)
    sizes = page.evaluate(MEASURE)
    off = [s for s in sizes if abs(s["drawn"] - s["card"]) > TOLERANCE]
    assert sizes and not off, f"{where}: plots not at their card's width: {off}"
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{where}: the page is {overflow} px wider than the window"
    return sizes


def check_run_plots(page, shot, run_id: int, name: str) -> None:
    """The run's Plots page, loaded afresh at each of WIDTHS: the map and the score/distance
    histograms at their cards' width."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"/runs/{run_id}/plots/")
        expect(page.locator("#plot-map.js-plotly-plot")).to_be_attached()
        page.wait_for_load_state("networkidle")
        names = [s["name"] for s in check_plot_sizes(page, f"{name} plots at {width}px")]
        assert "plot-map" in names and "plot-distances" in names, names
        shot(page, f"{name}-plots-{width}")
    page.set_viewport_size({"width": 1400, "height": 900})


def check_removed_sample(page, shot, run_id: int, name: str) -> None:
    """From the gallery's All tab (selected and not at a glance), a sample the run left out: its
    page says why, names the selected sample it was closest to and links to it."""
    page.goto(f"/runs/{run_id}/gallery/?tab=all&sort=filename&order=asc")
    cards = page.locator("figure.sample")
    expect(cards.first).to_be_visible()
    page.wait_for_load_state("networkidle")
    badges = page.locator("figure.sample .pick-badge").all_inner_texts()
    assert badges and set(badges) <= {"selected", "not selected"}, badges
    assert len(badges) == cards.count()
    shot(page, f"{name}-gallery-all")
    left_out = page.locator("figure.sample", has=page.locator(".pick-badge", has_text=re.compile("^not selected$"))).first
    filename = left_out.get_attribute("data-filename")
    left_out.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text(filename)
    why = page.locator("#why-removed")
    expect(why).to_contain_text("Not selected.")
    expect(why).to_contain_text("It was closest to the selected sample")
    expect(why).to_contain_text(re.compile(r"at distance \d\.\d{3} in the embeddings"))
    closest = page.locator("#closest-selected").inner_text()
    shot(page, f"{name}-removed-sample")
    page.click("#closest-selected")
    expect(page.locator("h1")).to_contain_text(closest)
    expect(page.locator("h1 small")).to_contain_text("selected, rank")
    expect(page.locator("#why-removed")).to_have_count(0)
    shot(page, f"{name}-closest-selected")


def download(page, link) -> tuple[str, bytes]:
    """Click ``link``; the downloaded file's suggested name and bytes."""
    with page.expect_download() as info:
        link.click()
    got = info.value
    assert got.failure() is None
    return got.suggested_filename, Path(got.path()).read_bytes()


def check_label_studio_tasks(data: bytes, names_by_rank: list[str]) -> list[dict]:
    """The fields Label Studio's JSON import reads: a list of tasks, each a ``data`` object whose
    ``image`` is a local-files URL (``/data/local-files/?d=<path>``); in rank order."""
    tasks = json.loads(data)
    assert isinstance(tasks, list) and all(isinstance(t, dict) and isinstance(t["data"], dict) for t in tasks)
    assert [t["data"]["filename"] for t in tasks] == names_by_rank
    assert [t["data"]["image"] for t in tasks] == [f"/data/local-files/?d={f}" for f in names_by_rank]
    assert [t["data"]["rank"] for t in tasks] == list(range(1, len(names_by_rank) + 1))
    return tasks


def check_exports(page, shot, run_id: int, dataset_id: int, folder: Path, n_selected: int, name: str) -> list[dict]:
    """The run's selection leaves Winnow from the gallery's run bar (Label Studio tasks, a zip of
    the images) and from the dataset page's tag list (COCO images, the filename list): each one
    parsed, the zip's files checked against the tag. The Label Studio tasks."""
    page.goto(f"/runs/{run_id}/gallery/")
    links = page.locator(".subnav #selection-export a")
    expect(links).to_have_text(["Label Studio", "COCO", "images (zip)", "CSV", "JSON", "list"])
    _, data = download(page, links.filter(has_text="Label Studio"))
    by_rank = [t["data"]["filename"] for t in json.loads(data)]
    assert len(by_rank) == n_selected
    tasks = check_label_studio_tasks(data, by_rank)
    filename, data = download(page, links.filter(has_text="images (zip)"))
    assert filename == f"run-{run_id}-selected.zip"

    page.goto(f"/datasets/{dataset_id}/")
    row = page.locator("#tags tbody tr", has=page.locator("td", has_text=f"run-{run_id}-selected"))
    _, listed = download(page, row.locator(".export-links a", has_text="list"))
    tag = listed.decode().split()
    assert sorted(tag) == sorted(by_rank)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == sorted(tag)
        assert archive.read(by_rank[0]) == (folder / by_rank[0]).read_bytes()
    _, data = download(page, row.locator(".export-links a", has_text="COCO"))
    coco = json.loads(data)
    assert [i["file_name"] for i in coco["images"]] == sorted(tag)
    assert all(i["width"] > 0 and i["height"] > 0 for i in coco["images"])
    shot(page, f"{name}-dataset-tags")
    return tasks
