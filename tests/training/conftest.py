"""Fixtures shared by the training tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def classifier():
    """The class-activation head on a tiny random backbone: 32 px in, an 8x8 map of 8 channels."""
    import keras

    from training.models.classifier import make_classifier

    keras.utils.set_random_seed(0)
    images = keras.Input((32, 32, 3), name="image")
    features = keras.layers.Conv2D(8, 3, strides=4, padding="same", activation="relu")(images)
    return make_classifier(keras.Model(images, features, name="tiny"), num_classes=3, dropout=0.3)
