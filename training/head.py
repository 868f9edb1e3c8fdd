"""Stage 1: the linear head, trained on frozen, pooled backbone features.

The backbone runs once per view of each photo (the photo, its mirror image,
randomly augmented copies) to give pooled feature vectors, cached on disk; the
head is then fitted on those vectors in seconds. Two ways to fit it:

- `--head_folds=0`: on the train split, early-stopped on the val split, and
  calibrated later on the full model's val logits.
- `--head_folds=K`: the recipe is scored by K-fold cross-validation over
  train + val, and the shipped head is refitted on all of train + val.
  Cats and dogs go to folds by a hash of their file (a photo, all its views
  and identical files share a fold); "other" photos go to folds by kind, so
  each fold holds whole kinds of things out (leave-kinds-out): the head that
  scores a photo of people has never seen people. The out-of-fold logits are
  what the fusion and the temperature are fitted on, and their figures are
  what runs are compared by: K times more held-out photos than the val split
  alone, and "other" judged on kinds the head never saw.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from app.inference.decision import decide
from training import metrics
from training.augment import make_augmenter
from training.bulk_predict import BulkPredictor
from training.cache import CachedData
from training.config import TrainConfig
from training.data import CLASS_NAMES, fold_of, kind_folds
from training.fusion import imagenet_logits
from training.models.classifier import HEAD_LAYER, block_input, make_pooled_head
from training.run_files import RunFiles

log = logging.getLogger("training")
FIT_SPLITS = ("train", "val")  # what cross-validation may use; the test split never


@dataclass
class HeldOut:
    """Every train and val photo scored by a head that never saw it (nor, for "other", its kind)."""
    logits: np.ndarray  # (N, 3) the head's out-of-fold logits
    labels: np.ndarray  # (N,)
    folds: np.ndarray  # (N,) the fold each photo was held out in
    kinds: np.ndarray  # (N,) str: cat, dog, or the kind of "other"
    paths: np.ndarray  # (N,) str
    imagenet_logits: np.ndarray | None = None  # (N, 1000) the backbone's own ImageNet classifier

    def save(self, path: Path) -> None:
        arrays = {k: v for k, v in vars(self).items() if v is not None}
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> "HeldOut":
        saved = np.load(path)
        return cls(**{k: saved[k] for k in saved.files})


def train_head(classifier: keras.Model, data: CachedData, config: TrainConfig, run_dir: Path,
               imagenet_head: tuple[np.ndarray, np.ndarray] | None = None) -> HeldOut | None:
    """Fit the head and copy it into the classifier.

    Returns the out-of-fold scores when cross-validated (with the ImageNet logits of
    the same photos when `imagenet_head` is given), else None. A finished head (and
    its out-of-fold scores) is reused on a rerun.
    """
    weights_path, held_out_path = run_dir / "head.weights.h5", RunFiles(run_dir).head_out_of_fold
    channels = classifier.get_layer(HEAD_LAYER).input.shape[-1]
    if weights_path.exists():
        log.info("head: reusing %s", weights_path)
        head = make_pooled_head(channels, len(CLASS_NAMES), config.dropout)
        head.load_weights(weights_path)
    else:
        features = pooled_features(classifier, data, config)
        if config.head_folds:
            held_out = cross_validate(features, data, config, curves_path=run_dir / "history-head-fold0.csv")
            if imagenet_head is not None:
                held_out.imagenet_logits = imagenet_logits(stacked_views(features, FIT_SPLITS, config)[0],
                                                           imagenet_head)
            held_out.save(held_out_path)
            head = fit_head(*training_pairs(features, data, FIT_SPLITS, config), config,
                            log_path=run_dir / "history-head.csv")
        else:
            head = fit_head(*training_pairs(features, data, ("train",), config), config,
                            validation=(features["val"], data.labels_of("val")), early_stopping=True,
                            log_path=run_dir / "history-head.csv")
        head.save_weights(weights_path)
    classifier.get_layer(HEAD_LAYER).set_weights(head.get_layer(HEAD_LAYER).get_weights())
    return HeldOut.load(held_out_path) if config.head_folds else None


def view_suffixes(config: TrainConfig) -> list[str]:
    """Each view of a photo that the head learns from, by name suffix: the photo itself (""),
    its mirror image, and --head_augmented_copies random augmentations (rotation, zoom, flip,
    shift, contrast). A mirrored or rotated cat is as much a cat, and this is how a head
    trained on frozen features gets augmented photos."""
    return ([""] + (["_mirrored"] if config.head_mirrored else [])
            + [f"_augmented{copy}" for copy in range(1, config.head_augmented_copies + 1)])


def _view_transform(suffix: str, config: TrainConfig) -> Callable[[np.ndarray], np.ndarray] | None:
    """What is done to a batch's pixels before the backbone sees this view of it."""
    if suffix == "":
        return None
    if suffix == "_mirrored":
        return lambda batch: batch[:, :, ::-1]
    augmenter = make_augmenter(config.seed + 100 * int(suffix.removeprefix("_augmented")))
    return lambda batch: keras.ops.convert_to_numpy(augmenter(batch, training=True))


def pooled_features(classifier: keras.Model, data: CachedData, config: TrainConfig) -> dict[str, np.ndarray]:
    """Globally pooled backbone features of every view of the train and val photos.

    Keys: split + view suffix ("train", "train_mirrored", "val_augmented1", ...);
    row i of each is photo i of the split. With --tune_blocks the same pass
    also caches, as float16, the activations entering that block, which the top
    of the network is fine-tuned on (`training/top.py`). Each array is saved as
    soon as it is computed, so an interrupted run resumes with the arrays it has.
    """
    folder = features_folder(config, data)
    folder.mkdir(parents=True, exist_ok=True)
    outputs = [keras.layers.GlobalAveragePooling2D()(classifier.get_layer(HEAD_LAYER).input)]
    if config.tune_from_block:
        outputs.append(block_input(classifier, config.tune_from_block))
    predictor = None
    features = {}
    for split in FIT_SPLITS:
        images = None  # a split's pixels are copied out of the memory map once, and only if needed
        for suffix in view_suffixes(config):
            path = folder / _file_name(split, suffix, config)
            activations_path = activations_file(folder, split, suffix, config)
            if not path.exists() or (activations_path and not activations_path.exists()):
                predictor = predictor or BulkPredictor(keras.Model(classifier.input, outputs if len(outputs) > 1 else outputs[0]),
                                                      threads=config.workers)
                images = images if images is not None else data.subset(split)[0]
                start = time.time()
                views = predictor.predict_all(images, transform=_view_transform(suffix, config))
                if activations_path:
                    np.save(activations_path, views[1].astype(np.float16))
                np.save(path, views[0])
                log.info("features %s%s: %d images in %.0f s", split, suffix, len(images), time.time() - start)
            features[f"{split}{suffix}"] = np.load(path)
    return features


def activations_file(folder: Path, split: str, suffix: str, config: TrainConfig) -> Path | None:
    """Where the activations entering the tuned block are cached for this view, or None without tuning."""
    if not config.tune_from_block:
        return None
    return folder / _file_name(split, suffix, config).replace(".npy", f".block{config.tune_from_block}-input.npy")


def features_folder(config: TrainConfig, data: CachedData) -> Path:
    """Frozen features depend on the backbone, its weights and the decoded photos only, so they
    are cached beside the photos and shared by every run that differs only in its head."""
    weights = "imagenet" if config.pretrained else f"random-seed{config.seed}"
    return Path(config.cache_dir) / "features" / f"{config.model}-{weights}-{data.key}"


def _file_name(split: str, suffix: str, config: TrainConfig) -> str:
    """Random views depend on the seed too, so it is in their name: another --seed draws new ones."""
    seed = f"-seed{config.seed}" if suffix.startswith("_augmented") else ""
    return f"{split}{suffix}{seed}.npy"


def stacked_views(features: dict[str, np.ndarray], splits: tuple[str, ...], config: TrainConfig) -> list[np.ndarray]:
    """One array per view, the photos' first; row i of each is the same photo of these splits."""
    return [np.concatenate([features[f"{split}{suffix}"] for split in splits]) for suffix in view_suffixes(config)]


def training_pairs(features: dict[str, np.ndarray], data: CachedData, splits: tuple[str, ...],
                   config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of the photos of these splits, then of each further view of them."""
    views = stacked_views(features, splits, config)
    labels = np.concatenate([data.labels_of(split) for split in splits])
    return np.concatenate(views), np.tile(labels, len(views))


def cross_validation_folds(data: CachedData, splits: tuple[str, ...], folds: int) -> np.ndarray:
    """The fold of every photo of these splits: pets by a hash of their file, "other"
    photos by their kind, so a fold holds whole kinds out (and near-copies, which share
    a kind, stay together)."""
    kinds = np.concatenate([data.kinds_of(split) for split in splits])
    by_kind = kind_folds([k for k in kinds if k not in ("cat", "dog")], folds)
    paths = [path for split in splits for path in data.paths_of(split)]
    return np.array([by_kind[kind] if kind in by_kind else fold_of(Path(path).read_bytes(), folds)
                     for kind, path in zip(kinds, paths)])


def cross_validate(features: dict[str, np.ndarray], data: CachedData, config: TrainConfig,
                   curves_path: Path | None = None) -> HeldOut:
    """Out-of-fold logits of every train and val photo, each from a head that saw
    neither the photo nor any view of it nor an identical file, nor for "other"
    any photo of its kind.

    Fold 0's learning curves against its held-out photos go to `curves_path`.
    """
    views = stacked_views(features, FIT_SPLITS, config)
    photos = views[0]
    labels = np.concatenate([data.labels_of(split) for split in FIT_SPLITS])
    folds = cross_validation_folds(data, FIT_SPLITS, config.head_folds)
    logits = np.zeros((len(labels), len(CLASS_NAMES)), np.float32)
    for fold in range(config.head_folds):
        held, kept = folds == fold, folds != fold
        x, y = np.concatenate([view[kept] for view in views]), np.tile(labels[kept], len(views))
        curves = {"validation": (photos[held], labels[held]), "log_path": curves_path}
        head = fit_head(x, y, config, **(curves if fold == 0 and curves_path else {}))
        logits[held] = head.predict(photos[held], batch_size=1024, verbose=0)
        matrix = metrics.confusion_matrix(labels[held], decide(logits[held]), len(CLASS_NAMES))
        log.info("fold %d: %d photos held out, %d pet mistakes, 'other' recall %.4f", fold, held.sum(),
                 metrics.pet_mistakes(matrix), metrics.other_recall(matrix))
    return HeldOut(logits, labels, folds, np.concatenate([data.kinds_of(split) for split in FIT_SPLITS]),
                   np.array([path for split in FIT_SPLITS for path in data.paths_of(split)]))


def fit_head(x: np.ndarray, y: np.ndarray, config: TrainConfig,
             validation: tuple[np.ndarray, np.ndarray] | None = None, early_stopping: bool = False,
             log_path: Path | None = None) -> keras.Model:
    """A new head fitted for --head_epochs, measured on `validation` after each epoch when
    given, and then stopped early (best weights kept) if `early_stopping`."""
    head = make_pooled_head(x.shape[1], len(CLASS_NAMES), config.dropout)
    head.compile(keras.optimizers.Adam(config.head_learning_rate),
                 keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    callbacks = [keras.callbacks.CSVLogger(log_path)] if log_path else []
    if early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True))
    head.fit(x, y, batch_size=256, epochs=config.head_epochs, validation_data=validation,
             verbose=2 if log_path else 0, callbacks=callbacks)
    return head
