"""Real-data quality check: a short SimCLR training makes the embeddings of handwritten digits
better for k-nearest-neighbour label lookup than the same network with random weights.

Both are embedded as a run embeds them (``compute_embeddings``): the random weights' projection
fitted by PCA of the trunk's features, the trained model's refitted the same way after training.

The data are scikit-learn's bundled digits (1797 grey 8×8 images, ten classes), written as PNG
files upscaled to the input size, so they go through the same decoding, augmentation and
inference paths as a user's images. Quality is the 5-fold cross-validated accuracy of a 5-nearest-
neighbour classifier on the L2-normalised embeddings (the labels are used for scoring only).

The configuration uses only lightly config keys a user can set. Augmentations suit small grey
digits: crops keep at least half the image (smaller crops of an 8×8 digit no longer show which
digit it is), no horizontal flips (they turn digits into other shapes), and brightness and contrast
jitter stay on. Without that jitter the two views of an image share their grey-level histogram
(stroke thickness, ink darkness), and the network learns to match those instead of shapes:
training then makes the kNN accuracy worse than with random weights. Saturation, hue, grey-scale
and blur do nothing useful on grey digits and only cost time. Measured on a 2-core CPU, about 40 s
of training: random weights 0.861 → trained 0.927 with seed 0 (0.817 → 0.918 with seed 1). Against
the random projection the fitted one replaced, the same training went 0.816 → 0.901.
"""

import copy
import io

import torch
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from selection_engine.config import resolve
from selection_engine.embedding import build_model
from selection_engine.embedding.stage import compute_embeddings
from selection_engine.embedding.training import train_simclr
from selection_engine.formats.embeddings import normalize
from selection_engine.progress import Reporter
from selection_engine.sources import LocalSource
from selection_engine.synthetic import write_digits

SIZE = 32
SEED = 0
#: Trained must beat random weights by at least this much accuracy (measured: 0.861 -> 0.927, +0.066;
#: the earlier 10 epochs at lr 0.15 reached only 0.848 in a fresh venv of 2026-11-24, cause not found).
MARGIN = 0.04
SETTINGS = [
    f"lightly.collate.input_size={SIZE}",
    "lightly.loader.num_workers=0",
    "lightly.loader.batch_size=128",
    "lightly.model.width=0.25",
    "lightly.trainer.max_epochs=20",
    "lightly.optimizer.lr=0.3",
    "lightly.criterion.temperature=0.2",
    "lightly.collate.min_scale=0.5",
    "lightly.collate.hf_prob=0",
    "lightly.collate.cj_bright=0.4",
    "lightly.collate.cj_contrast=0.4",
    "lightly.collate.cj_sat=0",
    "lightly.collate.cj_hue=0",
    "lightly.collate.random_gray_scale=0",
    "lightly.collate.gaussian_blur=0",
]


def knn_accuracy(model, config, source, names, labels, trained=False):
    reporter = Reporter(show_bars=False, stream=io.StringIO())
    embeddings, _ = compute_embeddings(model, config, source, names, torch.device("cpu"), reporter, trained=trained)
    return cross_val_score(KNeighborsClassifier(n_neighbors=5), normalize(embeddings), labels, cv=5).mean()


def test_short_ssl_training_beats_random_weights_on_digits(tmp_path):
    names, labels = write_digits(tmp_path / "digits")
    source = LocalSource(tmp_path / "digits")
    run_config = resolve(overrides=["stopping_condition.n_samples=1", *SETTINGS])
    config = run_config.lightly

    model = build_model(config.model, SEED)
    random_accuracy = knn_accuracy(copy.deepcopy(model), run_config, source, names, labels)
    result = train_simclr(
        model, source, names, config, torch.device("cpu"), Reporter(show_bars=False, stream=io.StringIO()), SEED
    )
    trained_accuracy = knn_accuracy(model, run_config, source, names, labels, trained=True)

    message = (
        f"kNN accuracy random {random_accuracy:.3f} vs trained {trained_accuracy:.3f} "
        f"(needs +{MARGIN}); losses per epoch {[round(loss, 2) for loss in result.losses]}"
    )
    print(message)  # shown with pytest -rP
    assert result.losses[-1] < result.losses[0], message
    assert trained_accuracy > random_accuracy + MARGIN, message
