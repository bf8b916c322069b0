"""Small things a first walk through the site meets: the favicon, plotly.js sent compressed,
and a GET of a dataset page's form action (a reload after the POST) going back to the page."""

import gzip
from pathlib import Path

from django.contrib.staticfiles import finders
from django.test import Client

from webapp.gallery import vendor


def test_every_page_links_a_favicon_that_is_served(alice_client, dataset):
    page = alice_client.get(f"/datasets/{dataset.pk}/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    assert '<link rel="icon" href="/static/favicon.png" type="image/png" sizes="32x32">' in page
    for name in ("favicon.svg", "favicon.png", "favicon.ico"):
        assert finders.find(name), name
    assert Path(finders.find("favicon.png")).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    response = alice_client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.ico"


def test_plotly_js_is_sent_gzip_compressed_to_browsers_that_accept_it(client, root):
    original = vendor.PLOTLY_JS.read_bytes()
    response = client.get("/vendor/plotly.min.js", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"] and "max-age" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body) < len(original) / 3
    assert gzip.decompress(body) == original
    # a client that does not accept gzip gets the plain file
    plain = client.get("/vendor/plotly.min.js", HTTP_ACCEPT_ENCODING="identity")
    assert not plain.has_header("Content-Encoding")
    assert b"".join(plain.streaming_content) == original
    refused = client.get("/vendor/plotly.min.js", HTTP_ACCEPT_ENCODING="gzip;q=0")
    assert not refused.has_header("Content-Encoding")


def test_get_on_a_dataset_form_action_goes_back_to_the_dataset_page(alice_client, bob, completed_run):
    dataset = completed_run.dataset
    tag = dataset.tags.first()
    for url in (f"/datasets/{dataset.pk}/test/", f"/datasets/{dataset.pk}/upload/",
                f"/datasets/{dataset.pk}/tags/{tag.pk}/delete/"):
        response = alice_client.get(url)
        assert response.status_code == 302 and response["Location"] == f"/datasets/{dataset.pk}/", url
        assert alice_client.put(url).status_code == 405
    assert dataset.tags.filter(pk=tag.pk).exists()  # a GET deleted nothing
    other = Client()
    other.force_login(bob)
    assert other.get(f"/datasets/{dataset.pk}/test/").status_code == 404
    # the POST still works
    page = alice_client.post(f"/datasets/{dataset.pk}/test/").content.decode()
    assert "Connection OK: 24 images" in page
