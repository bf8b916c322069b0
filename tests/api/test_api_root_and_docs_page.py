"""The API root lists every endpoint of the schema with its methods; the docs page has one
section per tag, operation descriptions of their own (not the view class's docstring under
each), and no raw Markdown or reST markup."""

import re

from webapp.api.schema import HTTP_METHODS, api_schema


def test_the_api_root_lists_every_endpoint_with_its_methods(alice_api):
    response = alice_api.get("/api/v1/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    root = response.json()
    assert root["datasets"].endswith("/api/v1/datasets/") and root["runs"].endswith("/api/v1/runs/")
    assert root["me"].endswith("/api/v1/me/") and root["docs"].endswith("/api/docs/") and root["schema"].endswith("/api/schema/")
    listed = {e["path"]: e["methods"] for e in root["endpoints"]}
    schema = api_schema()["paths"]
    assert set(listed) == set(schema)
    for path, item in schema.items():
        assert sorted(listed[path]) == sorted(m.upper() for m in item if m in HTTP_METHODS), path
    assert "POST" in listed["/api/v1/runs/"] and listed["/api/v1/runs/{id}/artifacts/{name}"] == ["GET"]
    assert alice_api.get("/api/v1/", HTTP_ACCEPT="application/json").status_code == 200


def test_the_docs_page_has_one_section_per_tag_and_no_raw_markup(client, alice):
    client.force_login(alice)
    page = client.get("/api/docs/").content.decode()
    sections = re.findall(r'<section class="card api-group">\s*<h2>([^<]+)</h2>', page)
    assert sections and len(sections) == len(set(sections)), sections
    assert {"Runs", "Results", "Datasets"} <= set(sections)
    # the dataset view's class docstring (for developers) is nobody's description
    assert "UploadActions" not in page and "TagActions" not in page
    text = re.sub(r"<pre>.*?</pre>", "", page, flags=re.S)
    text = re.sub(r"<[^>]+>", "", text)
    assert "``" not in text and not re.search(r"`[^`\n]+`", text), re.findall(r".{30}`.{30}", text)[:3]
    assert not re.search(r"^\s*\* ", text, re.M)  # enum lists rendered as lists
    assert "<code>Authorization: Token &lt;token&gt;</code>" in page
    assert re.search(r"<li><code>queued</code> - queued</li>", page)
    # the one-line summary of an object reads as text: items separated, quotes not cut mid-entity
    assert "<code>StateEnum</code> queued - queued; running - running;" in page
    assert "&amp;qu" not in page
