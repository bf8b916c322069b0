"""JSON documents users send are parsed with limits (issue 14, case 7).

JSON nested 50,000-100,000 deep was an HTTP 500 (RecursionError) in the API and in the wizard's
review step, and ``Infinity`` in the review step was a 500 from the database's JSON check. Every
entry point where a user sends a JSON document (the API's bodies and form fields, the wizard's
review, the CLI's selection_config inline or as a file, ``winnow evaluate``'s selection configs)
refuses nesting deeper than 64 levels and the non-JSON numbers NaN, Infinity and 1e999 with a
400, a form error or exit status 2, and stores nothing.
"""

from __future__ import annotations

import json

import pytest

from selection_engine.cli import main
from selection_engine.config import resolve
from selection_engine.errors import WinnowError
from webapp.runs.models import Preset, Run

DEEP = 100_000


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


#: Documents that are not JSON a server can store, with what the refusal says.
NOT_JSON = [
    ('{"seed": NaN}', "NaN is not a JSON number"),
    ('{"seed": Infinity}', "Infinity is not a JSON number"),
    ('{"seed": -Infinity}', "Infinity is not a JSON number"),
    ('{"seed": 1e999}', "out of range"),
]


def run_body(dataset, worker: str) -> str:
    return '{"dataset": %d, "worker_config": %s}' % (dataset.pk, worker)


def assert_api_400(response, fragment: str) -> None:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert fragment in body["detail"] and body["errors"], body


# -- the API ---------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [DEEP, 50_000, 65])
def test_a_deeply_nested_api_body_is_a_400(alice_api, dataset, depth):
    response = alice_api.post("/api/v1/runs/", run_body(dataset, nested(depth)), content_type="application/json")
    assert_api_400(response, "nests deeper than 64 levels")
    assert not Run.objects.exists()


def test_every_api_endpoint_taking_json_refuses_deep_nesting(alice_api, dataset, completed_run):
    deep = nested(DEEP)
    for url, body in (
        ("/api/v1/datasets/", '{"name": "x", "datasource": %s}' % deep),
        (f"/api/v1/datasets/{dataset.pk}/tags/", '{"name": "x", "run": %d, "filters": %s}' % (completed_run.pk, deep)),
        (f"/api/v1/datasets/{dataset.pk}/uploads/", '{"files": {"a.json": %s}}' % deep),
    ):
        assert_api_400(alice_api.post(url, body, content_type="application/json"), "nests deeper than 64 levels")
    assert_api_400(alice_api.patch(f"/api/v1/datasets/{dataset.pk}/", '{"name": %s}' % deep, content_type="application/json"),
                   "nests deeper than 64 levels")
    assert dataset.tags.count() == 1  # the completed run's selection only


@pytest.mark.parametrize("worker, fragment", NOT_JSON)
def test_nan_and_infinity_in_an_api_body_are_a_400(alice_api, dataset, worker, fragment):
    response = alice_api.post("/api/v1/runs/", run_body(dataset, worker), content_type="application/json")
    assert_api_400(response, fragment)
    assert not Run.objects.exists()


def test_invalid_json_in_an_api_body_names_the_line(alice_api, dataset):
    response = alice_api.post("/api/v1/runs/", '{\n"dataset": 1,\n"worker_config": {,}}', content_type="application/json")
    assert_api_400(response, "line 3: invalid JSON")


@pytest.mark.parametrize("value, fragment", [(nested(DEEP), "nests deeper than 64 levels"), *NOT_JSON])
def test_json_documents_sent_as_form_fields_are_checked_too(alice_api, dataset, value, fragment):
    for form in ("multipart", None):
        kwargs = {"format": "multipart"} if form else {"content_type": "application/x-www-form-urlencoded"}
        data = {"dataset": dataset.pk, "worker_config": value}
        if not form:
            from urllib.parse import urlencode

            data = urlencode(data)
        response = alice_api.post("/api/v1/runs/", data, **kwargs)
        assert response.status_code == 400, (form, response.content[:300])
        assert fragment in response.json()["errors"]["worker_config"], (form, response.json())
    assert not Run.objects.exists()


# -- the wizard's review step ------------------------------------------------------------------

def review(client, dataset, action="queue", **documents):
    client.post("/runs/new/dataset/", {"dataset": dataset.pk, "action": "next"})
    fields = {"worker_config": '{"stopping_condition": {"n_samples": 3}}', "lightly_config": "{}", "selection_config": "",
              "action": action, "preset_name": "p", **documents}
    return client.post("/runs/new/review/", fields)


@pytest.mark.parametrize("name", ["worker_config", "lightly_config", "selection_config"])
def test_deep_nesting_in_the_review_step_is_a_form_error(alice_client, dataset, name):
    for action in ("queue", "preset"):
        response = review(alice_client, dataset, action, **{name: nested(DEEP)})
        assert response.status_code == 200, action
        assert "nests deeper than 64 levels" in response.content.decode(), action
    assert not Run.objects.exists() and not Preset.objects.exists()


@pytest.mark.parametrize("worker, fragment", NOT_JSON)
def test_nan_and_infinity_in_the_review_step_are_form_errors(alice_client, dataset, worker, fragment):
    for action in ("queue", "preset"):
        response = review(alice_client, dataset, action, worker_config=worker)
        assert response.status_code == 200, action
        assert fragment in response.content.decode(), action
    assert not Run.objects.exists() and not Preset.objects.exists()


def test_infinity_inside_a_selection_config_is_a_form_error(alice_client, dataset):
    selection = '{"n_samples": 3, "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY", "strength": Infinity}}]}'
    response = review(alice_client, dataset, selection_config=selection)
    assert response.status_code == 200 and "Infinity is not a JSON number" in response.content.decode()
    assert not Run.objects.exists()


# -- the engine and the CLI --------------------------------------------------------------------

@pytest.mark.parametrize("text, fragment", [(nested(DEEP), "nests deeper than 64 levels"), ('{"n_samples": NaN}', "NaN"),
                                            ('{"n_samples": 1e999}', "out of range")])
def test_the_clis_selection_config_inline_or_in_a_file_is_checked(tmp_path, capsys, text, fragment):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "selection.json").write_text(text)
    inline = text if text.startswith("{") else "{" + f'"x": {text}' + "}"
    for value in (inline, "selection.json"):
        code = main([f"input_dir={tmp_path}", f"shared_dir={shared}", f"output_dir={tmp_path / 'out'}", f"selection_config={value}"])
        err = capsys.readouterr().err
        assert code == 2, err
        assert err.startswith("winnow: error: selection_config") and fragment in err, err
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_resolve_refuses_a_deep_selection_config_given_as_text():
    with pytest.raises(WinnowError, match="nests deeper than 64 levels"):
        resolve(selection_config="{" + f'"strategies": {nested(DEEP)}' + "}")


def test_winnow_evaluate_checks_its_selection_config_files(tmp_path):
    from selection_engine.evaluation.command import EvaluationConfig, selectors

    (tmp_path / "deep.json").write_text(nested(DEEP))
    (tmp_path / "inf.json").write_text(json.dumps({"n_samples": 3}).replace("3", "Infinity"))
    config = resolve(overrides=["stopping_condition.n_samples=3"], shared_dir=str(tmp_path))
    for name, fragment in (("deep.json", "nests deeper than 64 levels"), ("inf.json", "Infinity is not a JSON number")):
        with pytest.raises(WinnowError, match=fragment):
            selectors(config, EvaluationConfig(methods=["random"], selection_configs=[name]))
