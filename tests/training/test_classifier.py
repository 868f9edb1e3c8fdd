"""The class-activation head and the export graph, on a tiny random backbone."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from training.metrics import softmax
from training.models.classifier import HEAD_LAYER, make_export_model, make_logits_and_map, pooled_head_of

TEMPERATURE = 1.7


@pytest.fixture(scope="module")
def photos():
    return np.random.default_rng(0).uniform(0, 1, (4, 32, 32, 3)).astype(np.float32)  # unsaturated softmax


def test_the_export_model_serves_calibrated_probabilities_and_the_class_map(classifier, photos):
    probabilities, class_map = make_export_model(classifier, TEMPERATURE)(photos)
    logits = np.asarray(classifier(photos))
    np.testing.assert_allclose(probabilities, softmax(logits, TEMPERATURE), atol=1e-6)
    assert class_map.shape == (4, 8, 8, 3)
    np.testing.assert_allclose(np.asarray(class_map).mean(axis=(1, 2)), logits, atol=1e-5)  # pooling = logits


def test_the_head_on_pooled_features_gives_the_classifiers_logits(classifier, photos):
    features = keras.Model(classifier.input, classifier.get_layer(HEAD_LAYER).input)(photos)
    pooled = np.asarray(features).mean(axis=(1, 2))
    np.testing.assert_allclose(np.asarray(pooled_head_of(classifier, dropout=0.3)(pooled)),
                               np.asarray(classifier(photos)), rtol=1e-5, atol=1e-5)


def test_mirror_averaging_is_the_mean_of_the_photo_and_its_mirror(classifier, photos):
    logits, _ = make_logits_and_map(classifier, mirror_average=True)(photos)
    expected = (np.asarray(classifier(photos)) + np.asarray(classifier(photos[:, :, ::-1]))) / 2
    np.testing.assert_allclose(logits, expected, atol=1e-5)


def test_with_mirror_averaging_a_mirrored_photo_gets_the_same_answer_and_a_mirrored_map(classifier, photos):
    export = make_export_model(classifier, TEMPERATURE, mirror_average=True)
    probabilities, class_map = (np.asarray(t) for t in export(photos))
    mirrored_probabilities, mirrored_map = (np.asarray(t) for t in export(photos[:, :, ::-1]))
    np.testing.assert_allclose(mirrored_probabilities, probabilities, atol=1e-6)
    np.testing.assert_allclose(mirrored_map, class_map[:, :, ::-1], atol=1e-5)
    plain = np.asarray(make_export_model(classifier, TEMPERATURE)(photos)[0])
    assert not np.allclose(plain, probabilities, atol=1e-4)  # it really averaged something


def test_a_mirror_averaging_model_survives_saving_and_loading(classifier, photos, tmp_path):
    export = make_export_model(classifier, TEMPERATURE, mirror_average=True)
    export.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    for before, after in zip(export(photos), loaded(photos)):
        np.testing.assert_allclose(after, before, atol=1e-6)
