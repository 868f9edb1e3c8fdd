"""Put a class-activation head on any backbone, and build the export graph.

The head is one Dense layer applied at every position of the last feature
map, followed by global average pooling. Averaging and a linear layer
commute, so this is exactly "pool, then classify" -- and the per-position
scores before pooling are the class activation map that the app draws as
"where the model looked", at no extra cost.

The export graph may also average each photo with its mirror image
(test-time augmentation inside the model, so the app never knows).
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


@keras.saving.register_keras_serializable(package="catsdogs")
class AddMirrorImages(layers.Layer):
    """(N, h, w, c) -> (2N, h, w, c): the photos, then the same photos mirrored left-right."""

    def call(self, images):
        return keras.ops.concatenate([images, keras.ops.flip(images, axis=2)], axis=0)


@keras.saving.register_keras_serializable(package="catsdogs")
class AverageMirrorPairs(layers.Layer):
    """(2N, ...) -> (N, ...): the mean of each photo's output and its mirror image's.

    With `maps=True` the outputs are (2N, h, w, c) maps, and the mirror's map
    is flipped back first, so both halves point at the same places.
    """

    def __init__(self, maps: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.maps = maps

    def call(self, pairs):
        photos, mirrors = keras.ops.split(pairs, 2, axis=0)
        if self.maps:
            mirrors = keras.ops.flip(mirrors, axis=2)
        return (photos + mirrors) / 2.0

    def get_config(self):
        return {**super().get_config(), "maps": self.maps}


def make_logits_and_map(classifier: keras.Model, mirror_average: bool) -> keras.Model:
    """Images -> (logits, class activation map), optionally averaged with the mirror image."""
    if not mirror_average:
        return keras.Model(classifier.input, [classifier.output, classifier.get_layer(HEAD_LAYER).output])
    plain = make_logits_and_map(classifier, mirror_average=False)
    images = keras.Input(classifier.input_shape[1:], name="image")
    logits, class_map = plain(AddMirrorImages(name="add_mirror_images")(images))
    return keras.Model(images, [AverageMirrorPairs(name="mirror_mean")(logits),
                                AverageMirrorPairs(maps=True, name="mirror_mean_map")(class_map)])


def make_export_model(classifier: keras.Model, temperature: float, mirror_average: bool = False) -> keras.Model:
    """Images -> (calibrated probabilities, class activation map): the served contract."""
    scorer = make_logits_and_map(classifier, mirror_average)
    logits, class_map = scorer.outputs
    scaled = layers.Rescaling(1.0 / temperature, name="temperature")(logits)
    probabilities = layers.Softmax(name="probabilities")(scaled)
    class_map = layers.Identity(name="class_map")(class_map)
    return keras.Model(scorer.inputs, [probabilities, class_map], name=f"{classifier.name}-export")
