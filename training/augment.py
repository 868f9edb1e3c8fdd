"""Random augmentation, applied to whole batches outside the model graph.

Keeping it out of the model keeps the exported ONNX graph deterministic
(a random layer inside the model also breaks `model.export`).
"""

from __future__ import annotations

import keras
from keras import layers


def make_augmenter(seed: int = 1337) -> keras.Sequential:
    """Rotation, zoom and horizontal flip (the original recipe), plus shifts and contrast."""
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(0.05, fill_mode="reflect", seed=seed + 1),  # +-18 degrees
            layers.RandomZoom((-0.25, 0.1), fill_mode="reflect", seed=seed + 2),  # up to 25% closer
            layers.RandomTranslation(0.08, 0.08, fill_mode="reflect", seed=seed + 3),
            layers.RandomContrast(0.2, seed=seed + 4),
        ],
        name="augment",
    )
