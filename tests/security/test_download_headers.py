"""Downloads name their file safely whatever the name: tag exports in every format (page and API) and run artifacts
(page and API) answer 200 with a ``Content-Disposition`` a browser reads back as the real name.

A tag named with a newline or a quote used to be a 500 (Django refuses a header with a newline) or
a header whose quoted name ended early. Tags stored before names were checked still export.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from webapp.datasets import exports
from webapp.datasets.models import Tag, TagItem
from webapp.downloads import content_disposition

#: Names an old tag may hold (NUL excepted: PostgreSQL cannot store it) and the name a browser saves.
AWKWARD = {
    "line\nbreak": "line_break",
    "header\r\nSet-Cookie: x=1": "header__Set-Cookie: x=1",
    'say "cheese"': 'say "cheese"',
    "semi;colon": "semi;colon",
    "données 猫": "données 猫",
    "back\\slash/and/slash": "back_slash_and_slash",
    "tab\there": "tab_here",
    "%41 escaped": "%41 escaped",
    "\x1b[31mred": "_[31mred",
}


def saved_name(header: str) -> str:
    """The file name a browser takes from ``header``: RFC 6266's ``filename*`` when there is one."""
    extended = re.search(r"filename\*=UTF-8''([^;\s]+)", header, re.I)
    return unquote(extended.group(1)) if extended else re.search(r'filename="([^"]*)"', header).group(1)


def assert_safe(header: str, expected: str) -> None:
    assert "\r" not in header and "\n" not in header, header
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii() and fallback.isprintable() and not set(fallback) & set('"\\/;%'), header
    assert saved_name(header) == expected, header


@pytest.mark.parametrize("name,expected", [
    ("plain.csv", "plain.csv"),
    ('a "quoted" name.txt', 'a "quoted" name.txt'),
    ("new\nline.json", "new_line.json"),
    ("données.csv", "données.csv"),
    ("猫.json", "猫.json"),
    ("x\udcff.png", "x\ufffd.png"),  # a file name read from disk that is not UTF-8
    ("", "download"),
])
def test_the_header_offers_a_safe_ascii_name_and_the_real_one(name, expected):
    header = content_disposition(name)
    assert header.startswith("attachment; ")
    assert_safe(header, expected)
    assert content_disposition(name, inline=True).startswith("inline; ")


def test_a_plain_name_gets_only_the_plain_parameter():
    assert content_disposition("run-3-selected.csv") == 'attachment; filename="run-3-selected.csv"'


def test_tags_of_any_name_export_from_the_page_and_the_api(alice_client, alice_api, completed_run):
    dataset = completed_run.dataset
    names = sorted(completed_run.samples.filter(selected=True).values_list("filename", flat=True))
    for stored, expected in AWKWARD.items():
        tag = Tag.objects.create(dataset=dataset, name=stored, size=len(names))  # stored before names were checked
        TagItem.objects.bulk_create([TagItem(tag=tag, filename=n) for n in names])
        for fmt, spec in exports.FORMATS.items():  # the filename lists, and the labeling tools' formats
            page = alice_client.get(f"/datasets/{dataset.pk}/tags/{tag.pk}/export.{fmt}")
            api = alice_api.get(f"/api/v1/datasets/{dataset.pk}/tags/{tag.pk}/export/", {"file_format": fmt})
            for response in (page, api):
                assert response.status_code == 200, (stored, fmt, response.status_code)
                assert_safe(response["Content-Disposition"], f"{expected}{spec.suffix}")
            if fmt in ("csv", "json", "txt"):
                assert page.content == api.content
        assert json.loads(alice_api.get(f"/api/v1/datasets/{dataset.pk}/tags/{tag.pk}/export/").content)["tag"] == stored


def test_run_artifacts_with_awkward_names_download_from_the_page_and_the_api(alice_client, alice_api, completed_run):
    run_dir = Path(completed_run.run_dir)
    for name in ("données.csv", 'we"ird; name.txt'):
        (run_dir / name).write_text("filenames\n")
    cases = [("report.pdf", "inline"), ("données.csv", "attachment"), ('we"ird; name.txt', "inline")]
    for name, disposition in cases:
        page = alice_client.get(f"/runs/{completed_run.pk}/artifacts/{quote(name)}")
        assert page.status_code == 200, name
        assert page["Content-Disposition"].startswith(f"{disposition}; "), page["Content-Disposition"]
        assert_safe(page["Content-Disposition"], name)
        api = alice_api.get(f"/api/v1/runs/{completed_run.pk}/artifacts/{quote(name)}")
        assert api.status_code == 200, name
        assert api["Content-Disposition"].startswith("attachment; ")
        assert_safe(api["Content-Disposition"], name)
        assert b"".join(page.streaming_content) == b"".join(api.streaming_content)
