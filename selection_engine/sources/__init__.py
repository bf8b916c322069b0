"""Where images come from. All path safety of the engine lives in this package.

A source lists image files by their identity (path relative to the root, with ``/``) and opens
them; nothing outside its root can be read through it.
"""

from .base import IMAGE_EXTENSIONS, Source, is_image, safe_relpath
from .local import LocalSource

__all__ = ["IMAGE_EXTENSIONS", "LocalSource", "Source", "is_image", "safe_relpath"]
