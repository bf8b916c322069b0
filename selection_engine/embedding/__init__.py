"""Image embeddings: torchvision backbones and the inference pipeline."""

from .inference import embed_images
from .model import EmbeddingModel, build_model

__all__ = ["EmbeddingModel", "build_model", "embed_images"]
