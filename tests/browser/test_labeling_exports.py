"""Export for labeling, as a user does it: from the gallery's run bar, the run's selection downloads
as Label Studio tasks and as a zip of its images; from the dataset page's tag list, the selection
tag downloads as a COCO images list. Each download is parsed as its labeling tool would."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from playwright.sync_api import expect

from .conftest import DET_IMAGE_SIZE, DET_N_SELECTED, GALLERY_USER, login
from .walk import check_label_studio_tasks, download


@pytest.mark.timeout(300)
def test_export_the_selection_for_labeling_from_the_gallery_and_the_dataset_page(page, det_run, server, shot):
    page.set_viewport_size({"width": 1400, "height": 900})
    login(page, GALLERY_USER)
    selected = {f: s for f, s in det_run.samples.items() if s["selected"]}
    by_rank = sorted(selected, key=lambda f: selected[f]["rank"])
    assert len(by_rank) == DET_N_SELECTED

    page.goto(f"/runs/{det_run.run}/gallery/")
    links = page.locator(".subnav #selection-export a")
    # labeling tools' formats first, then the filename lists
    expect(links).to_have_text(["Label Studio", "COCO", "images (zip)", "CSV", "JSON", "list"])
    expect(page.locator(".subnav #selection-export")).to_contain_text("filenames: CSV")
    box = page.locator(".subnav").bounding_box()
    assert box is not None and box["height"] < 60  # the run bar stays one line at 1400 px
    shot(page, "gallery-export-links")
    page.set_viewport_size({"width": 1024, "height": 768})  # narrower: the bar wraps, nothing runs off
    assert page.locator(".subnav").evaluate("e => e.scrollWidth <= e.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "gallery-export-links-1024")
    page.set_viewport_size({"width": 1400, "height": 900})

    name, data = download(page, links.filter(has_text="Label Studio"))
    assert name == f"run-{det_run.run}-selected.labelstudio.json"
    tasks = check_label_studio_tasks(data, by_rank)
    assert all("det/objectness_least_confidence" in t["data"]["scores"] for t in tasks)

    name, data = download(page, links.filter(has_text="images (zip)"))
    assert name == f"run-{det_run.run}-selected.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == by_rank
        assert archive.read(by_rank[0]) == (server.root / "detections" / by_rank[0]).read_bytes()

    # -- the dataset page: every tag offers the same formats
    page.goto(f"/datasets/{det_run.dataset}/")
    row = page.locator("#tags tbody tr", has=page.locator("td", has_text=f"run-{det_run.run}-selected"))
    expect(row.locator(".export-links a")).to_have_text(["Label Studio", "COCO", "images (zip)", "CSV", "JSON", "list"])
    shot(page, "dataset-tag-export-links")
    name, data = download(page, row.locator("a", has_text="COCO"))
    assert name == f"run-{det_run.run}-selected.coco.json"
    coco = json.loads(data)
    assert [i["file_name"] for i in coco["images"]] == sorted(by_rank)
    height, width = DET_IMAGE_SIZE
    assert all((i["width"], i["height"]) == (width, height) for i in coco["images"])
    assert coco["annotations"] == [] and [c["name"] for c in coco["categories"]] == ["car", "person"]
