"""Fixtures of the evaluation tests: alice's dataset of 200 real digits in one folder per class,
and an evaluation of it run by the real task (a small protocol: a few seconds)."""

from __future__ import annotations

import pytest

from tests.digits import write_digit_folders

from .conftest import make_dataset

#: The form's values for a small evaluation (10 random labels + 2 rounds of 10, 2 seeds, 32 px).
SMALL = {"labels_source": "folders", "methods": ["coreset", "coral", "cold-start"], "initial": "10",
         "per_round": "10", "rounds": "2", "seeds": "2", "input_size": "32", "embeddings": ""}


@pytest.fixture
def digit_labels(root):
    """{relative name: "digit-<d>"} of the 200 digit images under ``root/digits``."""
    return write_digit_folders(root / "digits", 200)


@pytest.fixture
def digits(alice, root, digit_labels):
    """Alice's dataset on the digit folders."""
    return make_dataset(alice, root / "digits", name="Digits")


def small_evaluation(user, dataset, **changes):
    from webapp.evaluations.services import create_evaluation

    values = {"labels_source": "folders", "methods": ["coreset", "coral", "cold-start"], "initial": 10,
              "per_round": 10, "rounds": 2, "seeds": 2, "input_size": 32, **changes}
    return create_evaluation(user, dataset, **values)


@pytest.fixture
def completed_evaluation(alice, digits):
    """Alice's evaluation of the digits from their folders, executed by the real task."""
    from webapp.evaluations.models import Evaluation
    from webapp.evaluations.tasks import execute_evaluation

    evaluation = small_evaluation(alice, digits)
    assert execute_evaluation(evaluation.pk) == "completed", Evaluation.objects.get(pk=evaluation.pk).error
    evaluation.refresh_from_db()
    return evaluation
