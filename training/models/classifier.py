"""Put a class-activation head on any backbone, and build the export graph.

The head is one Dense layer applied at every position of the last feature
map, followed by global average pooling. Averaging and a linear layer
commute, so this is exactly "pool, then classify" -- and the per-position
scores before pooling are the class activation map that the app draws as
"where the model looked", at no extra cost.
"""

from __future__ import annotations

import keras
from keras import layers

HEAD_LAYER = "head"


def make_classifier(backbone: keras.Model, num_classes: int, dropout: float) -> keras.Model:
    """Images -> class logits."""
    x = layers.Dropout(dropout, name="head_dropout")(backbone.output)
    class_map = layers.Dense(num_classes, name=HEAD_LAYER)(x)
    logits = layers.GlobalAveragePooling2D(name="logits")(class_map)
    return keras.Model(backbone.input, logits, name=backbone.name)


def make_pooled_head(feature_channels: int, num_classes: int, dropout: float) -> keras.Model:
    """The same head on pooled features, for fast training on cached features."""
    inputs = keras.Input((feature_channels,), name="pooled_features")
    x = layers.Dropout(dropout, name="head_dropout")(inputs)
    return keras.Model(inputs, layers.Dense(num_classes, name=HEAD_LAYER)(x), name="pooled_head")


def make_export_model(classifier: keras.Model, temperature: float) -> keras.Model:
    """Images -> (calibrated probabilities, class activation map): the served contract."""
    logits = classifier.output
    scaled = layers.Rescaling(1.0 / temperature, name="temperature")(logits)
    probabilities = layers.Softmax(name="probabilities")(scaled)
    class_map = classifier.get_layer(HEAD_LAYER).output
    class_map = layers.Identity(name="class_map")(class_map)
    return keras.Model(classifier.input, [probabilities, class_map], name=f"{classifier.name}-export")
