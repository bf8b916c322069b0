"""The sample page: why a sample was not selected (the selected sample it was closest to, from
removed_samples.csv, linked), previous/next through the gallery view it came from, rounded
metadata, small images drawn pixelated."""

import html
import re
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from webapp.gallery import selectors
from webapp.runs.models import RunSample


def link(page: str, element_id: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" id="{element_id}"', page)
    return html.unescape(found.group(1)) if found else None


def test_a_removed_sample_names_and_links_the_selected_sample_it_was_closest_to(alice_client, completed_run):
    removed = pd.read_csv(completed_run.directory / "removed_samples.csv", dtype=str, keep_default_na=False)
    row = removed[removed["nearest_selected"] != ""].iloc[0]
    sample = completed_run.samples.get(filename=row["filenames"])
    closest = completed_run.samples.get(filename=row["nearest_selected"])
    assert closest.selected
    page = alice_client.get(f"/runs/{completed_run.pk}/samples/{sample.pk}/").content.decode()
    why = page.split('id="why-removed"')[1].split("</section>")[0]
    assert "Not selected." in why
    assert f">{closest.filename}</a> (rank {closest.rank})" in why
    distance = Decimal(row["distance"]).quantize(Decimal("0.001"), ROUND_HALF_UP)  # as |floatformat:3 rounds
    assert f"at distance {distance}" in why
    assert link(page, "closest-selected") == f"/runs/{completed_run.pk}/samples/{closest.pk}/?tab=removed&sort=score"
    # a selected sample has no such section
    page = alice_client.get(f"/runs/{completed_run.pk}/samples/{closest.pk}/").content.decode()
    assert 'id="why-removed"' not in page


def test_previous_and_next_walk_the_gallery_view_it_came_from(alice_client, completed_run):
    view = {"tab": "all", "sort": "filename", "order": "asc"}
    order = list(completed_run.samples.order_by("filename").values_list("pk", flat=True))
    query = "?tab=all&sort=filename&order=asc"
    url = f"/runs/{completed_run.pk}/samples/"
    first = alice_client.get(f"{url}{order[0]}/", view).content.decode()
    assert link(first, "prev-sample") is None and link(first, "next-sample") == f"{url}{order[1]}/{query}"
    middle = alice_client.get(f"{url}{order[10]}/", view).content.decode()
    assert link(middle, "prev-sample") == f"{url}{order[9]}/{query}"
    assert link(middle, "next-sample") == f"{url}{order[11]}/{query}"
    assert link(middle, "back-to-gallery") == f"/runs/{completed_run.pk}/gallery/{query}"
    last = alice_client.get(f"{url}{order[-1]}/", view).content.decode()
    assert link(last, "next-sample") is None and link(last, "prev-sample") == f"{url}{order[-2]}/{query}"
    # a filtered view: by score, only the selected ones, highest first
    picked = list(completed_run.samples.filter(selected=True).order_by("-score", "-pk").values_list("pk", flat=True))
    page = alice_client.get(f"{url}{picked[1]}/", {"tab": "selected"}).content.decode()
    assert link(page, "prev-sample").startswith(f"{url}{picked[0]}/?tab=selected")
    assert link(page, "next-sample").startswith(f"{url}{picked[2]}/?tab=selected")


def test_around_is_the_neighbour_of_every_sample_in_the_view(completed_run):
    query = selectors.GalleryQuery(tab="all", sort="score")
    order = [s.pk for s in selectors.page(completed_run, query, size=100).samples]
    for i, pk in enumerate(order):
        before, after = selectors.around(completed_run, query, RunSample.objects.get(pk=pk))
        assert (before.pk if before else None) == (order[i - 1] if i else None)
        assert (after.pk if after else None) == (order[i + 1] if i + 1 < len(order) else None)


def test_a_bad_view_parameter_is_a_400_naming_it(alice_client, completed_run):
    sample = completed_run.samples.first()
    response = alice_client.get(f"/runs/{completed_run.pk}/samples/{sample.pk}/", {"tab": "nope"})
    assert response.status_code == 400
    assert "tab: must be one of selected, all, removed" in response.content.decode()
    response = alice_client.get(f"/runs/{completed_run.pk}/samples/{sample.pk}/", {"score_min": "x"})
    assert response.status_code == 400 and "score_min" in response.content.decode()


def test_metadata_is_rounded_and_small_images_are_pixelated(alice_client, completed_run):
    sample = completed_run.samples.get(rank=1)
    sharpness = sample.metadata["lightly.sharpness"]
    assert isinstance(sharpness, float) and len(repr(sharpness)) > 8  # many digits stored
    page = alice_client.get(f"/runs/{completed_run.pk}/samples/{sample.pk}/").content.decode()
    table = page.split('id="metadata"')[1].split("</table>")[0]
    shown = re.search(r"<th>lightly.sharpness</th><td>([^<]+)</td>", table).group(1)
    assert shown == f"{sharpness:,.3f}".rstrip("0").rstrip(".")
    assert '<image class="pixelated"' in page  # 32x32 pixels, drawn hundreds of pixels wide
