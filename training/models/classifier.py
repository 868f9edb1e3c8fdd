"""Put a class-activation head on any backbone, and build the export graph.

The head is one Dense layer applied at every position of the last feature
map, followed by global average pooling. Averaging and a linear layer
commute, so this is exactly "pool, then classify" -- and the per-position
scores before pooling are the class activation map that the app draws as
"where the model looked", at no extra cost.

The export graph may also average each photo with its mirror image
(test-time augmentation inside the model, so the app never knows), and may
fuse the head with the ImageNet classifier the backbone came with
(`training/fusion.py`): both read the same pooled features, so ImageNet's
opinion costs one more matrix product.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

from app.inference.contract import CLASS_MAP, IMAGENET_FC, IMAGENET_PROBABILITIES, INPUT_NAME, PROBABILITIES

HEAD_LAYER = "head"


@dataclass
class UntunedTop:
    """The backbone's top as ImageNet trained it, from block `from_block` on. When the top is
    tuned for cats and dogs, the ImageNet classifier still reads the features it was trained
    on through this copy, so fusing with ImageNet keeps its meaning."""
    model: keras.Model  # activations entering block `from_block` -> last convolution features
    from_block: int


def block_input(classifier: keras.Model, block: int):
    """The tensor entering block `block` of the backbone: the last output of the block before it."""
    previous = [layer for layer in classifier.layers if layer.name.startswith(f"block{block - 1}_")]
    if not previous:
        raise ValueError(f"{classifier.name} has no block {block - 1}, so no block {block} to start from")
    return previous[-1].output


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


def pooled_head_of(classifier: keras.Model, dropout: float) -> keras.Model:
    """The classifier's trained head, as a head on pooled features (same weights, same logits)."""
    weights = classifier.get_layer(HEAD_LAYER).get_weights()
    head = make_pooled_head(weights[0].shape[0], weights[1].shape[0], dropout)
    head.get_layer(HEAD_LAYER).set_weights(weights)
    return head


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


@keras.saving.register_keras_serializable(package="catsdogs")
class GroupLogProbabilities(layers.Layer):
    """(N, K) logits -> (N, G + 1) log of the softmax probability summed over each group
    of classes and over all the other classes (the last column), floored at `floor`.
    `groups` lists the class indices of each of the G groups."""

    def __init__(self, groups: list[list[int]], floor: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.group_indices = [[int(i) for i in group] for group in groups]
        self.floor = floor

    def build(self, input_shape):
        matrix = np.zeros((input_shape[-1], len(self.group_indices) + 1), np.float32)
        matrix[:, -1] = 1
        for column, group in enumerate(self.group_indices):
            matrix[group] = np.eye(len(self.group_indices) + 1, dtype=np.float32)[column]
        self.matrix = keras.ops.convert_to_tensor(matrix)

    def call(self, logits):
        exp = keras.ops.exp(logits - keras.ops.max(logits, axis=-1, keepdims=True))
        summed = keras.ops.matmul(exp, self.matrix)
        probabilities = summed / keras.ops.sum(exp, axis=-1, keepdims=True)
        return keras.ops.log(keras.ops.maximum(probabilities, self.floor))

    def get_config(self):
        return {**super().get_config(), "groups": self.group_indices, "floor": self.floor}


def make_logits_and_map(classifier: keras.Model, mirror_average: bool,
                        imagenet_head: tuple[np.ndarray, np.ndarray] | None = None,
                        untuned_top: UntunedTop | None = None) -> keras.Model:
    """Images -> (logits, class activation map[, ImageNet logits]), optionally averaged with
    the mirror image. `imagenet_head` is the backbone's original (kernel, bias); it reads
    `untuned_top`'s features when the classifier's top was tuned."""
    if not mirror_average:
        outputs = [classifier.output, classifier.get_layer(HEAD_LAYER).output]
        if imagenet_head is not None:
            features = classifier.get_layer(HEAD_LAYER).input
            if untuned_top is not None:
                features = untuned_top.model(block_input(classifier, untuned_top.from_block))
            pooled = layers.GlobalAveragePooling2D(name="pooled")(features)
            imagenet = layers.Dense(imagenet_head[0].shape[1], name=IMAGENET_FC)
            outputs.append(imagenet(pooled))
            imagenet.set_weights(list(imagenet_head))
        return keras.Model(classifier.input, outputs)
    plain = make_logits_and_map(classifier, False, imagenet_head, untuned_top)
    images = keras.Input(classifier.input_shape[1:], name=INPUT_NAME)
    outputs = plain(AddMirrorImages(name="add_mirror_images")(images))
    averaged = [AverageMirrorPairs(maps=i == 1, name=f"mirror_mean_{i}")(t) for i, t in enumerate(outputs)]
    return keras.Model(images, averaged)


def load_export_model(path) -> keras.Model:
    """A saved export graph; loading it through this module registers the custom layers it holds."""
    return keras.models.load_model(path)


def make_export_model(classifier: keras.Model, temperature: float, mirror_average: bool = False,
                      fusion=None, untuned_top: UntunedTop | None = None) -> keras.Model:
    """Images -> (calibrated probabilities, class activation map): the served contract.

    With a `fusion` (training/fusion.py) the logits are the head's and ImageNet's
    opinions combined, and the map is the head's map weighted the same way, so it
    still pools to the head's share of the answer; a third output gives ImageNet's
    own probabilities, so the app can say what an "other" photo looks like.
    """
    scorer = make_logits_and_map(classifier, mirror_average, fusion.imagenet_head if fusion else None,
                                 untuned_top if fusion else None)
    logits, class_map = scorer.outputs[:2]
    if fusion is not None:
        groups = GroupLogProbabilities(fusion.groups, fusion.floor, name="imagenet_groups")(scorer.outputs[2])
        combine = layers.Dense(len(fusion.bias), name="fusion")
        logits = combine(layers.Concatenate(name="fusion_inputs")([logits, groups]))
        combine.set_weights([fusion.kernel, fusion.bias])
        weigh_map = layers.Dense(len(fusion.bias), use_bias=False, name="fusion_map")
        class_map = weigh_map(class_map)
        weigh_map.set_weights([fusion.kernel[:len(fusion.bias)]])  # the rows that weigh the head's logits
    scaled = layers.Rescaling(1.0 / temperature, name="temperature")(logits)
    outputs = [layers.Softmax(name=PROBABILITIES)(scaled), layers.Identity(name=CLASS_MAP)(class_map)]
    if fusion is not None:
        outputs.append(layers.Softmax(name=IMAGENET_PROBABILITIES)(scorer.outputs[2]))
    return keras.Model(scorer.inputs, outputs, name=f"{classifier.name}-export")
