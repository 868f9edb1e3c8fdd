"""Stage 1, the head on cached features: features computed once per split and
resumed one split at a time; cross-validation that never lets a photo, its
mirror image or an identical file score itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training import head
from training.cache import CachedData
from training.config import TrainConfig
from training.models import simple_cnn
from training.models.classifier import HEAD_LAYER, make_classifier

SIZE = 32


class CountingPredictor:
    """Stands in for onnxruntime: each image's feature is the mean of its left half, so a photo
    and its mirror image differ. Records (images, transformed or not) per call."""

    calls: list[tuple[int, bool]] = []

    def __init__(self, model, threads):
        self.channels = model.output.shape[-1]

    def predict(self, images, transform=None):
        CountingPredictor.calls.append((len(images), transform is not None))
        batch = images.astype(np.float32)
        batch = transform(batch) if transform else batch
        means = batch[:, :, :batch.shape[2] // 2].reshape(len(batch), -1).mean(axis=1, keepdims=True)
        return np.repeat(means, self.channels, axis=1).astype(np.float32)

    def predict_all(self, images, transform=None):
        return [self.predict(images, transform)]


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """6 train, 3 val and 2 test photos, each with a file of distinct bytes but
    for train photo 0 and val photo 6, which are identical files."""
    monkeypatch.setattr(head, "BulkPredictor", CountingPredictor)
    CountingPredictor.calls = []
    rng = np.random.default_rng(0)
    splits = np.array(["train"] * 6 + ["val"] * 3 + ["test"] * 2)
    paths = []
    for i in range(11):
        path = tmp_path / f"{i}.jpg"
        path.write_bytes(b"same bytes" if i in (0, 6) else f"photo {i}".encode())
        paths.append(str(path))
    data = CachedData(images=rng.integers(0, 256, (11, SIZE, SIZE, 3), dtype=np.uint8),
                      labels=np.array([0, 1, 2] * 3 + [0, 1]), splits=splits, paths=paths, skipped=[])
    classifier = make_classifier(simple_cnn.make_backbone(SIZE), 3, dropout=0.0)
    run_dir = tmp_path / "run"
    run_dir.mkdir()

    def config(**options) -> TrainConfig:
        """The plain head (no folds, no augmented copies) unless the test asks."""
        return TrainConfig(**{"cache_dir": str(tmp_path / "cache"), "run_dir": str(run_dir),
                              "head_folds": 0, "head_augmented_copies": 0, "tune_blocks": 0, **options})

    return classifier, data, config


def test_features_of_train_and_val_and_their_mirror_images(setup):
    classifier, data, config = setup
    features = head.pooled_features(classifier, data, config(head_mirrored=True))
    assert CountingPredictor.calls == [(6, False), (6, True), (3, False), (3, True)]  # test is never read
    assert {k: v.shape for k, v in features.items()} == {
        "train": (6, 256), "train_mirrored": (6, 256), "val": (3, 256), "val_mirrored": (3, 256)}
    photos = data.subset("train")[0].astype(np.float32)
    right_halves = photos[:, :, SIZE // 2:].reshape(6, -1).mean(axis=1)
    np.testing.assert_allclose(features["train_mirrored"][:, 0], right_halves, rtol=1e-5)


def test_augmented_copies_are_further_views_of_each_photo(setup):
    classifier, data, config = setup
    features = head.pooled_features(classifier, data, config(head_mirrored=False, head_augmented_copies=2))
    assert CountingPredictor.calls == [(6, False), (6, True), (6, True), (3, False), (3, True), (3, True)]
    assert set(features) == {"train", "train_augmented1", "train_augmented2",
                             "val", "val_augmented1", "val_augmented2"}
    assert not np.allclose(features["train_augmented1"], features["train"])
    assert not np.allclose(features["train_augmented1"], features["train_augmented2"])  # each copy its own draw

    CountingPredictor.calls = []
    head.pooled_features(classifier, data, config(head_mirrored=False, head_augmented_copies=2))
    assert CountingPredictor.calls == []  # cached
    head.pooled_features(classifier, data, config(head_mirrored=False, head_augmented_copies=2, seed=7))
    assert CountingPredictor.calls == [(6, True), (6, True), (3, True), (3, True)]  # new draws, same photos


def test_without_mirroring_only_the_photos_are_used(setup):
    classifier, data, config = setup
    features = head.pooled_features(classifier, data, config(head_mirrored=False))
    assert CountingPredictor.calls == [(6, False), (3, False)]
    assert set(features) == {"train", "val"}


def test_an_interrupted_run_computes_only_the_missing_split(setup):
    classifier, data, config = setup
    settings = config(head_mirrored=True)
    first = head.pooled_features(classifier, data, settings)
    (head.features_folder(settings, data) / "val.npy").unlink()  # as if killed after the train features
    CountingPredictor.calls = []
    again = head.pooled_features(classifier, data, settings)
    assert CountingPredictor.calls == [(3, False)]
    for key in first:
        np.testing.assert_array_equal(again[key], first[key])


def test_runs_that_differ_only_in_their_head_share_the_features(setup):
    classifier, data, config = setup
    head.pooled_features(classifier, data, config(dropout=0.5, head_folds=5))
    CountingPredictor.calls = []
    head.pooled_features(classifier, data, config(dropout=0.1, head_epochs=3))
    assert CountingPredictor.calls == []
    assert head.features_folder(config(), data) != head.features_folder(config(model="efficientnet-lite0"), data)
    assert head.features_folder(config(), data) != head.features_folder(config(pretrained=False), data)


def test_training_pairs_put_the_mirror_images_after_the_photos_with_their_labels(setup):
    classifier, data, config = setup
    features = head.pooled_features(classifier, data, config(head_mirrored=True))
    x, y = head.training_pairs(features, data, ("train", "val"), config(head_mirrored=True))
    np.testing.assert_array_equal(x, np.concatenate([features["train"], features["val"],
                                                     features["train_mirrored"], features["val_mirrored"]]))
    np.testing.assert_array_equal(y, np.concatenate([data.labels_of("train"), data.labels_of("val")] * 2))


class RecordingHead:
    """Stands in for a fitted head: remembers what it was trained on; its logits are
    (the photo's first feature, which head scored it, 0)."""

    seen: list[np.ndarray] = []

    def __init__(self, x):
        self.number = len(RecordingHead.seen)
        RecordingHead.seen.append(x[:, 0].copy())

    def predict(self, x, **kwargs):
        return np.stack([x[:, 0], np.full(len(x), self.number), np.zeros(len(x))], axis=1)


def test_cross_validation_never_scores_a_photo_with_a_head_that_saw_any_view_of_it(setup, monkeypatch):
    classifier, data, config = setup
    monkeypatch.setattr(head, "fit_head", lambda x, y, config, **kw: RecordingHead(x))
    RecordingHead.seen = []
    settings = config(head_mirrored=True, head_augmented_copies=1, head_folds=3)
    features = head.pooled_features(classifier, data, settings)
    held_out = head.cross_validate(features, data, settings)
    logits, labels = held_out.logits, held_out.labels

    def all_of(suffix):
        return np.concatenate([features["train" + suffix], features["val" + suffix]])[:, 0]

    photos, views = all_of(""), [all_of(s) for s in ("", "_mirrored", "_augmented1")]
    np.testing.assert_array_equal(labels, np.concatenate([data.labels_of("train"), data.labels_of("val")]))
    np.testing.assert_array_equal(logits[:, 0], photos)  # every train and val photo scored, in order
    assert len(RecordingHead.seen) == 3
    scored_by = logits[:, 1].astype(int)
    for i, number in enumerate(scored_by):
        for other, seen in enumerate(RecordingHead.seen):
            # the scoring head saw no view of the photo; every other head saw them all
            assert all((view[i] in seen) == (other != number) for view in views)
    assert scored_by[0] == scored_by[6]  # identical files share a fold
    np.testing.assert_array_equal(held_out.folds, scored_by)


def test_cross_validation_holds_whole_kinds_of_other_out(tmp_path):
    names = ([f"cat.{i}.jpg" for i in range(20)] + [f"dog.{i}.jpg" for i in range(20)]
             + [f"{kind}.{i}.jpg" for kind in ("car", "person", "tench", "scene", "church") for i in range(6)])
    paths = []
    for name in names:
        (tmp_path / name).write_bytes(name.encode())
        paths.append(str(tmp_path / name))
    labels = np.array([0 if n.startswith("cat") else 1 if n.startswith("dog") else 2 for n in names])
    data = CachedData(images=np.zeros((len(names), 1, 1, 3), np.uint8), labels=labels,
                      splits=np.array(["train", "val"] * (len(names) // 2)), paths=paths, skipped=[])
    folds = head.cross_validation_folds(data, ("train", "val"), 3)
    kinds = np.concatenate([data.kinds_of("train"), data.kinds_of("val")])
    for kind in ("car", "person", "tench", "scene", "church"):
        assert len(set(folds[kinds == kind])) == 1, kind  # every photo of a kind in one fold
    other_kinds_per_fold = [set(kinds[(folds == f) & (kinds != "cat") & (kinds != "dog")]) for f in range(3)]
    assert all(other_kinds_per_fold) and set().union(*other_kinds_per_fold) == {"car", "person", "tench", "scene", "church"}
    assert len(set(folds[kinds == "cat"])) == 3  # pets are spread over the folds by their files


def test_a_cross_validated_head_is_refitted_on_train_and_val_and_resumes(setup):
    classifier, data, config = setup
    settings = config(head_mirrored=True, head_folds=2, head_epochs=1)
    run_dir = Path(settings.run_dir)
    held_out = head.train_head(classifier, data, settings, run_dir)
    logits = held_out.logits
    assert logits.shape == (9, 3) and len(held_out.labels) == 9 and held_out.imagenet_logits is None
    assert (run_dir / "head.weights.h5").exists()
    curves = (run_dir / "history-head-fold0.csv").read_text().splitlines()
    assert curves[0].split(",") == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(curves) == 2 and "NA" not in curves[1]  # one epoch, measured on fold 0's held-out photos
    weights = classifier.get_layer(HEAD_LAYER).get_weights()

    CountingPredictor.calls = []
    fresh = make_classifier(simple_cnn.make_backbone(SIZE), 3, dropout=0.0)
    again = head.train_head(fresh, data, settings, run_dir)
    assert CountingPredictor.calls == []  # nothing recomputed
    np.testing.assert_array_equal(again.logits, logits)
    np.testing.assert_array_equal(again.folds, held_out.folds)
    for saved, loaded in zip(weights, fresh.get_layer(HEAD_LAYER).get_weights()):
        np.testing.assert_array_equal(saved, loaded)


def test_the_plain_head_returns_nothing_held_out(setup):
    classifier, data, config = setup
    settings = config(head_epochs=1)
    assert head.train_head(classifier, data, settings, Path(settings.run_dir)) is None


@pytest.mark.parametrize("options", [{"head_folds": 1}, {"head_folds": -2},
                                     {"head_folds": 5, "finetune_epochs": 2}])
def test_impossible_head_options_are_refused(options):
    with pytest.raises(ValueError):
        TrainConfig(**options)


def test_held_out_photos_carry_the_imagenet_logits_of_their_own_features(setup):
    classifier, data, config = setup
    settings = config(head_mirrored=True, head_folds=2, head_epochs=1)
    rng = np.random.default_rng(1)
    imagenet = rng.normal(size=(256, 5)).astype(np.float32), rng.normal(size=5).astype(np.float32)
    held_out = head.train_head(classifier, data, settings, Path(settings.run_dir), imagenet)
    features = head.pooled_features(classifier, data, settings)
    photos = np.concatenate([features["train"], features["val"]])  # the photos, not their mirror images
    np.testing.assert_allclose(held_out.imagenet_logits, photos @ imagenet[0] + imagenet[1], rtol=1e-5)
    assert list(held_out.kinds) == [("cat", "dog", "other")[label] if label < 2 else Path(path).parent.name
                                    for label, path in zip(held_out.labels, held_out.paths)]
