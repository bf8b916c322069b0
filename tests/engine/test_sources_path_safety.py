"""Listing a local datasource, and paths that would leave it."""

import os

import pytest

from selection_engine.errors import InputError, UnsafePathError
from selection_engine.sources import LocalSource, safe_relpath
from tests.factories import write_image


def test_lists_supported_images_in_subfolders_case_insensitively(tmp_path):
    for name in ["a/one.JPG", "a/b/two.png", "three.WebP", "four.tiff", "five.bmp", "six.gif"]:
        write_image(tmp_path / name, seed=1, fmt={"JPG": "JPEG", "WebP": "WEBP", "tiff": "TIFF", "bmp": "BMP", "gif": "GIF", "png": "PNG"}[name.rsplit(".", 1)[1]])
    (tmp_path / "notes.txt").write_text("not an image")
    write_image(tmp_path / ".lightly/predictions/x.png", seed=2)
    write_image(tmp_path / ".hidden.png", seed=3)
    assert LocalSource(tmp_path).list_images() == ["a/b/two.png", "a/one.JPG", "five.bmp", "four.tiff", "six.gif", "three.WebP"]


def test_symlinks_leaving_the_root_are_rejected_with_the_reason(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    write_image(root / "inside.png", seed=1)
    write_image(outside / "secret.png", seed=2)
    os.symlink(outside / "secret.png", root / "link.png")
    os.symlink(outside, root / "linked_folder")
    os.symlink(root / "inside.png", root / "alias.png")  # stays inside: fine
    source = LocalSource(root)
    assert source.list_images() == ["alias.png", "inside.png"]
    rejected = dict(source.rejected)
    assert "symlink leads outside" in rejected["link.png"]
    assert "symlinked folder leads outside" in rejected["linked_folder"]
    with pytest.raises(UnsafePathError, match="symlink leading outside"):
        source.open("link.png")
    with pytest.raises(UnsafePathError, match="symlink leading outside"):
        source.open("linked_folder/secret.png")


@pytest.mark.parametrize(
    "path, message",
    [
        ("../etc/passwd", "contains '..'"),
        ("a/../../b.png", "contains '..'"),
        ("/etc/passwd", "absolute path"),
        ("C:/x.png", "absolute path"),
        ("", "empty path"),
        ("a\x00b", "NUL byte"),
    ],
)
def test_unsafe_relative_paths_are_refused(path, message):
    with pytest.raises(UnsafePathError, match=message):
        safe_relpath(path)


def test_safe_paths_are_normalised():
    assert safe_relpath("./a//b/c.png") == "a/b/c.png"
    assert safe_relpath("a\\b.png") == "a/b.png"


def test_a_missing_input_dir_is_named(tmp_path):
    with pytest.raises(InputError, match="input_dir does not exist"):
        LocalSource(tmp_path / "nope")
