"""REST API views, one module per resource. Thin: parse the request, call the same service or
selector as the pages, serialize. Someone else's dataset or run does not exist (the selectors
404 it)."""

from .common import ApiRoot, Me, not_found
from .datasets import DatasetViewSet
from .runs import ArtifactDownload, RunViewSet

__all__ = ["ApiRoot", "ArtifactDownload", "DatasetViewSet", "Me", "RunViewSet", "not_found"]
