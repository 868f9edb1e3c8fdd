"""Stage 1b: the top of the backbone, tuned for cats, dogs and "other".

A linear head on frozen ImageNet features stalls at about one pet photo in a
hundred wrong, and calls furry animals it never saw "cat" or "dog": the
features were never taught a calico cat from a spotted dog. Here the last
block(s) of the backbone and its final 1x1 convolution learn too, from the
ImageNet weights and the trained linear head (linear probe first, then
fine-tuning, so the first steps do not tear down features the head relies on),
with BatchNorm statistics frozen.

The feature pass (`training/head.py`) cached the activations entering
`--tune_from_block` for every view of every photo, so a step runs only the top
of the network: a small share of its cost. Each epoch sees one random view of
every photo.

It is judged like the head: by leave-kinds-out cross-validation over train +
val, each fold's top tuned from that fold's own linear head without the fold,
so the out-of-fold logits are comparable photo by photo with the head's.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import keras
import numpy as np

from app.inference.decision import decide
from training import metrics
from training.cache import CachedData
from training.config import TrainConfig
from training.data import CLASS_NAMES
from training.head import (FIT_SPLITS, HeldOut, activations_file, features_folder, fit_head, pooled_features,
                           stacked_views, view_suffixes)
from training.models import efficientnet_lite
from training.models.classifier import HEAD_LAYER, UntunedTop, block_input, make_classifier, pooled_head_of
from training.run_files import RunFiles

log = logging.getLogger("training")


class RandomViewBatches(keras.utils.PyDataset):
    """Shuffled batches of the given photos, each photo as one of its views drawn anew every epoch.

    With `weights` (one per row) an epoch draws as many photos as there are rows, each in
    proportion to its weight and with replacement, so hard photos come back more often."""

    def __init__(self, views: list[np.ndarray], rows: np.ndarray, labels: np.ndarray, batch_size: int, seed: int,
                 weights: np.ndarray | None = None):
        super().__init__()
        self.views, self.rows, self.labels, self.batch_size = views, rows, labels, batch_size
        self.chance = None if weights is None else weights / weights.sum()
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, index: int):
        chosen = slice(index * self.batch_size, (index + 1) * self.batch_size)
        rows, views = self.order[chosen], self.view_of[chosen]
        x = np.stack([self.views[view][row] for view, row in zip(views, rows)]).astype(np.float32)
        return x, self.labels[rows]

    def on_epoch_end(self) -> None:
        if self.chance is None:
            self.order = self.rng.permutation(self.rows)
        else:
            self.order = self.rng.choice(self.rows, size=len(self.rows), p=self.chance)
        self.view_of = self.rng.integers(0, len(self.views), len(self.order))


def hard_photo_weights(head: keras.Model, pooled: np.ndarray, labels: np.ndarray, hard_weight: float) -> np.ndarray | None:
    """How often tuning draws each photo: 1 + hard_weight x (1 - the linear head's probability of
    the photo's label), so the photos the frozen features get wrong (patchy cats, pets behind
    fences, look-alike animals) are seen up to 1 + hard_weight times as often; None when 0.
    The head is the one tuning starts from and these photos are its training photos, so no
    held-out photo's label decides what is drawn."""
    if not hard_weight:
        return None
    probabilities = metrics.softmax(head.predict(pooled, batch_size=1024, verbose=0), 1.0)
    return 1.0 + hard_weight * (1.0 - probabilities[np.arange(len(labels)), labels])


def untuned_top(classifier: keras.Model, config: TrainConfig) -> UntunedTop:
    """A copy of the classifier's top with its current (ImageNet) weights, taken before tuning."""
    shape = tuple(block_input(classifier, config.tune_from_block).shape[1:])
    top = efficientnet_lite.make_top(config.model, config.tune_from_block, shape, name="imagenet_top")
    efficientnet_lite.copy_shared_weights(classifier, top)
    top.trainable = False
    return UntunedTop(top, config.tune_from_block)


def make_tunable(start: UntunedTop, head_weights: list[np.ndarray], config: TrainConfig) -> keras.Model:
    """Activations -> logits: the top from `start`'s weights with the linear head on it,
    everything trainable but BatchNorm."""
    top = efficientnet_lite.make_top(config.model, start.from_block, start.model.input.shape[1:])
    efficientnet_lite.copy_shared_weights(start.model, top)
    model = make_classifier(top, len(CLASS_NAMES), config.dropout)
    model.get_layer(HEAD_LAYER).set_weights(head_weights)
    for layer in model.layers + top.layers:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    return model


def tune(model: keras.Model, views: list[np.ndarray], rows: np.ndarray, labels: np.ndarray,
         config: TrainConfig, weights: np.ndarray | None = None, log_path: Path | None = None) -> keras.Model:
    """Fit `model` for --tune_epochs on the photos `rows` (one random view of each per epoch),
    drawn in proportion to `weights` (one per row) when given."""
    batches = RandomViewBatches(views, rows, labels, config.batch_size, config.seed, weights)
    schedule = keras.optimizers.schedules.CosineDecay(config.tune_learning_rate, config.tune_epochs * len(batches))
    model.compile(keras.optimizers.Adam(schedule), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    callbacks = [keras.callbacks.CSVLogger(log_path)] if log_path else []
    model.fit(batches, epochs=config.tune_epochs, verbose=2, callbacks=callbacks)
    return model


def logits_of(model: keras.Model, activations: np.ndarray, rows: np.ndarray, batch_size: int = 256) -> np.ndarray:
    return np.concatenate([model.predict_on_batch(activations[rows[i:i + batch_size]].astype(np.float32))
                           for i in range(0, len(rows), batch_size)])


def load_activations(data: CachedData, config: TrainConfig) -> list[np.ndarray]:
    """One float16 array per view; row i of each is photo i of train + val, as in `HeldOut`."""
    folder = features_folder(config, data)
    return [np.concatenate([np.load(activations_file(folder, split, suffix, config)) for split in FIT_SPLITS])
            for suffix in view_suffixes(config)]


def cross_validate_tuned(classifier: keras.Model, start: UntunedTop, data: CachedData, config: TrainConfig,
                         head_held_out: HeldOut, activations: list[np.ndarray], run_dir: Path) -> HeldOut:
    """Out-of-fold logits of the tuned top, in the head's folds. Each fold's logits are
    saved as they come, so an interrupted run resumes at the next fold."""
    features = pooled_features(classifier, data, config)  # cached by the head stage
    pooled_views = stacked_views(features, FIT_SPLITS, config)
    labels, folds = head_held_out.labels, head_held_out.folds
    logits = np.zeros((len(labels), len(CLASS_NAMES)), np.float32)
    for fold in range(config.head_folds):
        held, kept = np.flatnonzero(folds == fold), np.flatnonzero(folds != fold)
        path = run_dir / f"top-fold{fold}.npy"
        if not path.exists():
            started = time.time()
            probe = fit_head(np.concatenate([view[kept] for view in pooled_views]),
                             np.tile(labels[kept], len(pooled_views)), config)
            weights = hard_photo_weights(probe, pooled_views[0][kept], labels[kept], config.tune_hard_weight)
            model = tune(make_tunable(start, probe.get_layer(HEAD_LAYER).get_weights(), config),
                         activations, kept, labels, config, weights)
            np.save(path, logits_of(model, activations[0], held))
            log.info("tuned fold %d in %.0f s", fold, time.time() - started)
        logits[held] = np.load(path)
        matrix = metrics.confusion_matrix(labels[held], decide(logits[held]), len(CLASS_NAMES))
        log.info("tuned fold %d: %d pet mistakes (head alone: %d), 'other' recall %.4f", fold,
                 metrics.pet_mistakes(matrix),
                 metrics.pet_mistakes(metrics.confusion_matrix(labels[held], decide(head_held_out.logits[held]),
                                                               len(CLASS_NAMES))),
                 metrics.other_recall(matrix))
    return HeldOut(logits, labels, folds, head_held_out.kinds, head_held_out.paths, head_held_out.imagenet_logits)


def _final_tune_weights(classifier: keras.Model, data: CachedData, config: TrainConfig, rows: np.ndarray,
                        labels: np.ndarray) -> np.ndarray | None:
    """`hard_photo_weights` of the final tune's photos, from the classifier's trained head; the
    pooled features are only read when hard photos are to be drawn more often."""
    if not config.tune_hard_weight:
        return None
    return hard_photo_weights(pooled_head_of(classifier, config.dropout), _pooled_photos(classifier, data, config)[rows],
                              labels, config.tune_hard_weight)


def _pooled_photos(classifier: keras.Model, data: CachedData, config: TrainConfig) -> np.ndarray:
    """The cached pooled features of the photos themselves (no other view), train + val."""
    return stacked_views(pooled_features(classifier, data, config), FIT_SPLITS, config)[0]


def tune_top(classifier: keras.Model, data: CachedData, config: TrainConfig, run_dir: Path,
             head_held_out: HeldOut | None) -> tuple[UntunedTop, HeldOut | None]:
    """Tune the classifier's top in place (its head already trained) and return the untuned
    copy for the ImageNet classifier, with the tuned top's out-of-fold scores when
    cross-validated. Finished work is reused on a rerun."""
    start = untuned_top(classifier, config)
    weights_path = run_dir / "top.weights.h5"
    activations = None
    held_out = None
    if config.head_folds:
        held_out_path = RunFiles(run_dir).top_out_of_fold
        if not held_out_path.exists():
            activations = load_activations(data, config)
            cross_validate_tuned(classifier, start, data, config, head_held_out, activations, run_dir).save(held_out_path)
        held_out = HeldOut.load(held_out_path)
    tuned = make_tunable(start, classifier.get_layer(HEAD_LAYER).get_weights(), config)
    if weights_path.exists():
        log.info("top: reusing %s", weights_path)
        tuned.load_weights(weights_path)
    else:
        activations = activations or load_activations(data, config)
        labels = np.concatenate([data.labels_of(split) for split in FIT_SPLITS])
        splits = FIT_SPLITS if config.head_folds else ("train",)
        rows = np.arange(sum(len(data.labels_of(split)) for split in splits))
        weights = _final_tune_weights(classifier, data, config, rows, labels[rows])
        tune(tuned, activations, rows, labels, config, weights, log_path=run_dir / "history-top.csv")
        tuned.save_weights(weights_path)
    efficientnet_lite.copy_shared_weights(tuned, classifier)
    return start, held_out
