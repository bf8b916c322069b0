"""Users see only their own evaluations: someone else's is a 404 through every URL, and nobody
can start one on someone else's dataset."""

import pytest

from webapp.evaluations.models import Evaluation

from .evaluation_world import SMALL, completed_evaluation, digit_labels, digits, small_evaluation  # noqa: F401


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


def test_another_users_evaluation_is_not_found_through_any_url(bob_client, completed_evaluation):
    pk = completed_evaluation.pk
    for url in (f"/evaluations/{pk}/", f"/evaluations/{pk}/status.json", f"/evaluations/{pk}/artifacts/methods.csv",
                f"/evaluations/{pk}/artifacts/evaluation.json", f"/evaluations/{pk}/artifacts/accuracy.png"):
        assert bob_client.get(url).status_code == 404, url
    assert bob_client.post(f"/evaluations/{pk}/cancel/").status_code == 404
    completed_evaluation.refresh_from_db()
    assert completed_evaluation.state == Evaluation.COMPLETED


def test_nobody_evaluates_another_users_dataset(bob_client, bob, digits):
    url = f"/datasets/{digits.pk}/evaluate/"
    assert bob_client.get(url).status_code == 404
    assert bob_client.post(url, SMALL).status_code == 404
    with pytest.raises(PermissionError):
        small_evaluation(bob, digits)
    assert Evaluation.objects.count() == 0


def test_the_owner_gets_the_files_and_nothing_outside_them(alice_client, completed_evaluation):
    pk = completed_evaluation.pk
    assert alice_client.get(f"/evaluations/{pk}/artifacts/evaluation.json").status_code == 200
    for name in ("../labels.csv", "../../runs", "/etc/passwd", "..%2F..%2Fevaluations"):
        assert alice_client.get(f"/evaluations/{pk}/artifacts/{name}").status_code == 404, name


def test_an_artifact_name_longer_than_a_path_is_not_found_not_an_error(alice_client, completed_evaluation):
    client, pk = alice_client, completed_evaluation.pk
    client.raise_request_exception = False
    for name in ("a/" * 3000 + "x", "x" * 5000, "evaluation.json/" + "y" * 300):
        assert client.get(f"/evaluations/{pk}/artifacts/{name}").status_code == 404, name[:40]
