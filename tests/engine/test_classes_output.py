"""data/classes.csv: the predicted classes of each image per task, for browsing and filtering."""

import numpy as np

from selection_engine.selection import ClassCounts
from selection_engine.stages.inputs import classes_frame


def test_classes_are_listed_most_frequent_first_and_empty_without_predictions():
    counts = ClassCounts(np.array([[0, 2, 1], [0, 0, 0], [1, 0, 0]], dtype=float), ["car", "person", "bike"])
    frame = classes_frame(["a.png", "b.png", "c.png"], {"det": counts})
    assert frame.to_dict("list") == {"filenames": ["a.png", "b.png", "c.png"], "det": ["person;bike", "", "car"]}
