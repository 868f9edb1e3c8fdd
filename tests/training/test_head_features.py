"""Stage 1's cached features: computed once per split, resumed one split at a time."""

from __future__ import annotations

import numpy as np
import pytest

from training import train
from training.cache import CachedData
from training.config import TrainConfig
from training.models import simple_cnn
from training.models.classifier import make_classifier

SIZE = 32


class CountingPredictor:
    """Stands in for onnxruntime: each image's feature is its mean pixel, negated when mirrored."""

    calls: list[tuple[int, bool]] = []

    def __init__(self, model, threads):
        self.channels = model.output.shape[-1]

    def predict(self, images, mirrored=False):
        CountingPredictor.calls.append((len(images), mirrored))
        means = images.reshape(len(images), -1).mean(axis=1, keepdims=True)
        return np.repeat(-means if mirrored else means, self.channels, axis=1).astype(np.float32)


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.setattr(train, "BulkPredictor", CountingPredictor)
    CountingPredictor.calls = []
    rng = np.random.default_rng(0)
    splits = np.array(["train"] * 6 + ["val"] * 3 + ["test"] * 2)
    data = CachedData(images=rng.integers(0, 256, (11, SIZE, SIZE, 3), dtype=np.uint8),
                      labels=np.array([0, 1, 2] * 3 + [0, 1]), splits=splits,
                      paths=[f"{i}.jpg" for i in range(11)], skipped=[])
    classifier = make_classifier(simple_cnn.make_backbone(SIZE), 3, dropout=0.0)
    return classifier, data, tmp_path


def test_train_features_include_the_mirrored_photos(setup):
    classifier, data, run_dir = setup
    features = train.pooled_features(classifier, data, TrainConfig(head_mirrored=True), run_dir)
    assert CountingPredictor.calls == [(6, False), (6, True), (3, False)]  # test is never read
    assert features["train_x"].shape == (12, 256) and features["val_x"].shape == (3, 256)
    np.testing.assert_array_equal(features["train_y"], np.concatenate([data.labels_of("train")] * 2))
    np.testing.assert_array_equal(features["train_x"][6:], -features["train_x"][:6])


def test_without_mirroring_only_the_photos_are_used(setup):
    classifier, data, run_dir = setup
    features = train.pooled_features(classifier, data, TrainConfig(head_mirrored=False), run_dir)
    assert CountingPredictor.calls == [(6, False), (3, False)]
    assert len(features["train_x"]) == 6


def test_an_interrupted_run_computes_only_the_missing_split(setup):
    classifier, data, run_dir = setup
    config = TrainConfig(head_mirrored=True)
    first = train.pooled_features(classifier, data, config, run_dir)
    (run_dir / "features" / "val.npy").unlink()  # as if killed after the train features
    CountingPredictor.calls = []
    again = train.pooled_features(classifier, data, config, run_dir)
    assert CountingPredictor.calls == [(3, False)]
    for key in ("train_x", "train_y", "val_x", "val_y"):
        np.testing.assert_array_equal(again[key], first[key])
