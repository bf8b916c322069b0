"""Reading, validating and writing the embeddings CSV."""

import numpy as np
import pytest

from selection_engine.errors import InputError
from selection_engine.formats.embeddings import EmbeddingTable, normalize, read_embeddings, write_embeddings

HEADER = "filenames,embedding_0,embedding_1,labels\n"


def write(tmp_path, text):
    path = tmp_path / "e.csv"
    path.write_text(text)
    return path


def test_round_trip_keeps_names_values_labels_and_extra_columns(tmp_path):
    path = write(tmp_path, "filenames,embedding_0,embedding_1,labels,al_score\na.jpg,0.5,1.5,2,0.25\nsub/b.jpg,-1,3e-2,0,0.75\n")
    table = read_embeddings(path)
    assert table.filenames == ["a.jpg", "sub/b.jpg"]
    assert table.embeddings.dtype == np.float32
    np.testing.assert_allclose(table.embeddings, [[0.5, 1.5], [-1, 0.03]])
    assert table.labels.tolist() == [2, 0]
    np.testing.assert_allclose(table.column("al_score"), [0.25, 0.75])
    write_embeddings(tmp_path / "out.csv", table)
    again = read_embeddings(tmp_path / "out.csv")
    assert again.filenames == table.filenames
    np.testing.assert_allclose(again.embeddings, table.embeddings)
    np.testing.assert_allclose(again.column("al_score"), [0.25, 0.75])


@pytest.mark.parametrize(
    "body, message",
    [
        ("a.jpg,1,2,0\nb.jpg,1,nan,0\n", "line 3: embedding_1 is 'nan'"),
        ("a.jpg,1,2,0\nb.jpg,inf,2,0\n", "line 3: embedding_0 is 'inf'"),
        ("a.jpg,1,2,0\nb.jpg,x,2,0\n", "line 3: embedding_0 is 'x'"),
        ("a.jpg,1,2,0\nb.jpg,1,2\n", "line 3: has 3 columns, the header has 4"),
        ("a.jpg,1,2,0\nb.jpg,1,2,0,9\n", "line 3: has 5 columns, the header has 4"),
        ("a.jpg,1,2,0\n\nb.jpg,1,2,0\n", "line 3: empty line"),
        ("a.jpg,1,2,0\nb.jpg,3,4,0\na.jpg,5,6,0\n", "line 4: duplicate filename 'a.jpg' (first on line 2)"),
        ("a.jpg,1,2,1.5\n", "line 2: labels is '1.5', expected an integer"),
    ],
)
def test_bad_rows_are_named_by_line(tmp_path, body, message):
    with pytest.raises(InputError) as err:
        read_embeddings(write(tmp_path, HEADER + body))
    assert message in str(err.value)
    assert str(tmp_path / "e.csv") in str(err.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the file is empty"),
        ("name,embedding_0\na,1\n", "line 1: the first column must be 'filenames'"),
        ("filenames,labels\na,1\n", "no embedding_0"),
        ("filenames,embedding_0,embedding_2\na,1,2\n", "missing embedding_1"),
    ],
)
def test_bad_headers_are_refused(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        read_embeddings(write(tmp_path, text))


def test_a_missing_score_column_lists_the_extra_columns(tmp_path):
    table = read_embeddings(write(tmp_path, "filenames,embedding_0,labels,al\na,1,0,0.5\n"))
    with pytest.raises(InputError, match=r"has no column 'score' \(extra columns: al\)"):
        table.column("score")


def test_normalize_gives_unit_rows_and_keeps_zero_rows():
    x = np.array([[3, 4], [0, 0], [1, 0]], dtype=np.float32)
    out = normalize(x)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), [1, 0, 1], atol=1e-6)
    np.testing.assert_allclose(out[0], [0.6, 0.8], atol=1e-6)


def test_table_shapes_are_checked():
    with pytest.raises(ValueError):
        EmbeddingTable(["a"], np.zeros((2, 3), dtype=np.float32), np.zeros(2, dtype=np.int64))
