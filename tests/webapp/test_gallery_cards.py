"""Gallery cards: every score of the sample by a readable name, the file's own name whole (the
folder cut, the full path on hover), selected or not at a glance in the "all" tab, and a link
to the sample that carries the gallery's view."""

import html
import re

from webapp.runs.results import score_items


def cards(page: str) -> dict[str, str]:
    """filename → the card's HTML."""
    return dict(re.findall(r'<figure class="sample[^"]*" data-filename="([^"]+)"(.*?)</figure>', page, re.S))


def test_a_card_lists_every_score_of_its_sample_by_name(alice_client, completed_run):
    page = alice_client.get(f"/runs/{completed_run.pk}/gallery/", {"tab": "all"}).content.decode()
    shown = cards(page)
    assert len(shown) == 24
    for sample in completed_run.samples.all():
        names = [name for name, _ in score_items(sample)]
        # the three classification scores, and no selection facts (distances, contributions)
        assert len(names) == 3, sample.scores
        card = shown[sample.filename]
        listed = re.findall(r'<dt title="([^"]+)">(.+?)</dt><dd>([^<]+)</dd>', card.replace("<wbr>", ""))
        assert [full for full, _, _ in listed] == names
        assert [short for _, short, _ in listed] == [n.split("/", 1)[1] for n in names]
        assert [float(v) for _, _, v in listed] == [round(value, 3) for _, value in score_items(sample)]
        assert "distance" not in card.split('<dl class="scores">')[1] and "contribution" not in card


def test_a_card_keeps_the_file_name_whole_and_the_full_path_on_hover(alice_client, completed_run):
    page = alice_client.get(f"/runs/{completed_run.pk}/gallery/", {"tab": "all"}).content.decode()
    for filename, card in cards(page).items():
        folder, base = filename.rsplit("/", 1)
        assert f'<span class="filename" title="{filename}">' in card
        assert f'<span class="folder">\u200e{folder}/\u200e</span><span class="base">{base}</span>' in card


def test_the_all_tab_marks_selected_and_not_selected_cards(alice_client, completed_run):
    url = f"/runs/{completed_run.pk}/gallery/"
    page = alice_client.get(url, {"tab": "all"}).content.decode()
    classes = {name: kind for kind, name in re.findall(r'<figure class="sample ([^"]*)" data-filename="([^"]+)"', page)}
    badges = dict(re.findall(r'data-filename="([^"]+)".*?<span class="pick-badge">([^<]+)</span>', page, re.S))
    assert len(classes) == len(badges) == 24
    selected = set(completed_run.samples.filter(selected=True).values_list("filename", flat=True))
    assert {n for n, c in classes.items() if c == "picked"} == selected
    assert {n for n, c in classes.items() if c == "removed"} == set(classes) - selected
    assert {n for n, b in badges.items() if b == "selected"} == selected
    assert {n for n, b in badges.items() if b == "not selected"} == set(classes) - selected
    # the selected tab needs no badge: everything in it is selected
    assert "pick-badge" not in alice_client.get(url, {"tab": "selected"}).content.decode()


def test_a_card_links_to_its_sample_with_the_gallery_view(alice_client, completed_run):
    page = alice_client.get(f"/runs/{completed_run.pk}/gallery/", {"tab": "all", "sort": "filename", "order": "asc"}).content.decode()
    links = re.findall(rf'<a href="(/runs/{completed_run.pk}/samples/\d+/[^"]*)"><img', page)
    assert len(links) == 24
    assert all(html.unescape(link).endswith("?tab=all&sort=filename&order=asc") for link in links), links[:2]


def test_a_card_says_why_only_when_the_reason_says_more_than_its_badge(alice_client, completed_run):
    removed = completed_run.samples.filter(selected=False).order_by("filename")
    assert set(removed.values_list("reason", flat=True)) == {"not selected"}
    special = removed.first()
    special.reason = "corrupt: image file is truncated"
    special.save()
    for tab in ("all", "removed"):
        page = alice_client.get(f"/runs/{completed_run.pk}/gallery/", {"tab": tab}).content.decode()
        reasons = {name: re.findall(r'<span class="reason" title="([^"]+)">', card) for name, card in cards(page).items()}
        assert reasons[special.filename] == ["corrupt: image file is truncated"]
        assert all(found == [] for name, found in reasons.items() if name != special.filename), tab
