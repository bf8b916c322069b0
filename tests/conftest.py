import pytest

from tests import factories


@pytest.fixture
def images(tmp_path):
    """A folder of 12 generated PNG images in two sub-folders: (root, names)."""
    root = tmp_path / "input"
    names = factories.image_folder(root, n=12)
    return root, names
