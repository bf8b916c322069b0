"""One sample of a real object-detection run: its predicted boxes drawn over the image, one per
prediction in the image's prediction file, with their labels; scores and nearest neighbours."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import DET_CATEGORIES, DET_TASK, GALLERY_USER, login


def _open_from_gallery(page, run: int, filename: str) -> None:
    page.goto(f"/runs/{run}/gallery/?tab=all")
    page.click(f'figure.sample[data-filename="{filename}"] a')
    page.wait_for_url(re.compile(rf"/runs/{run}/samples/\d+/(\?.*)?$"))


@pytest.mark.timeout(400)
def test_sample_page_draws_every_predicted_box_with_its_label(page, det_run, shot):
    login(page, GALLERY_USER)
    counts = {name: len(det_run.boxes(name)) for name in det_run.names}
    busiest = max(det_run.names, key=lambda n: (counts[n], n))
    expected = det_run.boxes(busiest)
    assert len(expected) >= 2, counts

    _open_from_gallery(page, det_run.run, busiest)
    sample = det_run.samples[busiest]
    expect(page).to_have_url(re.compile(rf"/samples/{sample['pk']}/(\?.*)?$"))
    expect(page.locator("h1")).to_contain_text(busiest)
    expect(page.locator("h1 small")).to_have_text(f"selected, rank {sample['rank']}" if sample["selected"] else "not selected")

    # -- the image, and one box per prediction, where the file says, labelled with class and score
    svg = page.locator("svg#annotated")
    expect(svg).to_be_visible()
    href = svg.locator("image").first.get_attribute("href")
    response = page.request.get(href)
    assert response.ok and response.headers["content-type"] == "image/jpeg", (href, response.status)
    boxes = svg.locator("g.box")
    expect(boxes).to_have_count(len(expected))
    drawn = boxes.evaluate_all("""gs => gs.map(g => {
        const r = g.querySelector('rect'), t = g.querySelector('text'), b = r.getBoundingClientRect();
        return {label: g.dataset.label, task: g.dataset.task, text: t.textContent.trim(),
                x: +r.getAttribute('x'), y: +r.getAttribute('y'), w: +r.getAttribute('width'), h: +r.getAttribute('height'),
                shown: b.width > 0 && b.height > 0};
    })""")
    svg_box = svg.bounding_box()
    for box, prediction in zip(sorted(drawn, key=lambda d: (d["x"], d["y"])),
                               sorted(expected, key=lambda p: (p["bbox"][0], p["bbox"][1]))):
        category = DET_CATEGORIES[prediction["category_id"]]
        assert box["task"] == DET_TASK and box["label"] == category
        assert [box["x"], box["y"], box["w"], box["h"]] == pytest.approx(prediction["bbox"], abs=1e-6)
        label, score = box["text"].rsplit(" ", 1)
        assert label == category and float(score) == pytest.approx(prediction["score"], abs=0.0051), box["text"]
        assert box["shown"], f"box {box} is not drawn"
    for rect in boxes.locator("rect").all():
        b = rect.bounding_box()
        assert svg_box["x"] - 1 <= b["x"] and b["x"] + b["width"] <= svg_box["x"] + svg_box["width"] + 1
        assert svg_box["y"] - 1 <= b["y"] and b["y"] + b["height"] <= svg_box["y"] + svg_box["height"] + 1
    expect(svg.locator("text.box-label").first).to_be_visible()

    # -- the side panel: the task and its detections, the run's scores
    predictions = page.locator("section.card", has=page.locator("h2", has_text="Predictions"))
    expect(predictions.locator("h3")).to_contain_text([f"{DET_TASK} object-detection"])
    expect(predictions.locator("ul.classes li")).to_have_count(len(expected))
    expect(page.locator(f'#scores th[title="{DET_TASK}/objectness_least_confidence"]')).to_have_count(1)
    shot(page, "busiest-image")

    # -- nearest neighbours in the embeddings, each a link to its own page
    neighbours = page.locator("#neighbours figure")
    expect(neighbours.first).to_be_visible()
    assert 1 <= neighbours.count() <= 8
    other = neighbours.first.locator(".filename").inner_text()
    assert other in det_run.names and other != busiest
    neighbours.first.locator("a").click()
    page.wait_for_url(re.compile(rf"/samples/{det_run.samples[other]['pk']}/$"))
    expect(page.locator("h1")).to_contain_text(other)
    expect(page.locator("svg#annotated g.box")).to_have_count(counts[other])
    shot(page, "neighbour")

    # -- an image without detections: the image alone, and the panel says so
    empty = [n for n in det_run.names if counts[n] == 0]
    if empty:
        _open_from_gallery(page, det_run.run, empty[0])
        expect(page.locator("svg#annotated")).to_be_visible()
        expect(page.locator("svg#annotated g.box")).to_have_count(0)
        expect(predictions.locator("p.muted").first).to_have_text("No predictions for this image.")
        shot(page, "no-detections")


@pytest.mark.timeout(300)
def test_box_labels_are_readable_and_inside_the_image(page, det_run, shot):
    login(page, GALLERY_USER)
    busiest = max(det_run.names, key=lambda n: (len(det_run.boxes(n)), n))
    _open_from_gallery(page, det_run.run, busiest)
    svg = page.locator("svg#annotated")
    expect(svg.locator("g.box")).to_have_count(len(det_run.boxes(busiest)))
    shot(page, "labels")
    frame = svg.bounding_box()
    for label in svg.locator("text.box-label").all():
        box = label.bounding_box()
        assert 6 <= box["height"] <= 30, f"label {label.text_content()!r} is {box['height']:.0f} px tall"
        assert frame["x"] - 1 <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 1, "label runs off the image"
        assert frame["y"] - 1 <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"] + 1, "label runs off the image"
