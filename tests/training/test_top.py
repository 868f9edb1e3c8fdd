"""Stage 1b, the top of the backbone tuned on cached activations: the cached activations
and the rebuilt top give exactly what the whole network gives; tuning changes the top
and the classifier takes it, while the ImageNet branch keeps the untuned weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from training import top
from training.config import TrainConfig
from training.models import efficientnet_lite
from training.torch_weights import load_state_dict
from training.models.classifier import HEAD_LAYER, block_input, make_classifier, make_logits_and_map

SIZE = 64


@pytest.fixture(scope="module")
def lite0():
    """Lite0 with its ImageNet weights (random ones saturate the ReLU6s and leave nothing to tune)."""
    keras.utils.set_random_seed(3)
    backbone = efficientnet_lite.make_backbone("efficientnet-lite0", SIZE)
    efficientnet_lite.port_weights(backbone, load_state_dict(efficientnet_lite.weights_file("efficientnet-lite0")))
    return make_classifier(backbone, 3, dropout=0.5)


def config(**options) -> TrainConfig:
    return TrainConfig(**{"model": "efficientnet-lite0", "tune_blocks": 1, "tune_epochs": 1, "batch_size": 4,
                          "tune_learning_rate": 1e-2, **options})


def photos(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (count, SIZE, SIZE, 3)).astype(np.float32)


def test_the_last_block_is_the_one_tuned_by_default():
    assert config().tune_from_block == 15  # lite0 has blocks 0..15
    assert TrainConfig(model="efficientnet-lite2").tune_from_block == 20
    assert TrainConfig(tune_blocks=0).tune_from_block == 0
    assert TrainConfig(model="simple-cnn").tune_from_block == 0


@pytest.mark.parametrize("tune_blocks", [1, 3])
def test_cached_activations_and_the_rebuilt_top_reproduce_the_whole_network(lite0, tune_blocks):
    settings = config(tune_blocks=tune_blocks)
    images = photos(3)
    activations = keras.Model(lite0.input, block_input(lite0, settings.tune_from_block)).predict(images, verbose=0)
    start = top.untuned_top(lite0, settings)
    tunable = top.make_tunable(start, lite0.get_layer(HEAD_LAYER).get_weights(), settings)
    expected = lite0.predict(images, verbose=0)
    np.testing.assert_allclose(tunable.predict(activations, verbose=0), expected, rtol=1e-4, atol=1e-5)
    # as the feature pass caches them: float16 costs a little precision, not the answer
    cached = tunable.predict(activations.astype(np.float16).astype(np.float32), verbose=0)
    np.testing.assert_allclose(cached, expected, rtol=0.02, atol=0.02)


def test_tuning_changes_the_top_and_the_imagenet_branch_keeps_the_untuned_weights(lite0):
    settings = config()
    classifier = make_classifier(efficientnet_lite.make_backbone("efficientnet-lite0", SIZE), 3, dropout=0.5)
    classifier.set_weights(lite0.get_weights())
    images = photos(8, seed=1)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    activations = keras.Model(classifier.input, block_input(classifier, settings.tune_from_block)).predict(
        images, verbose=0).astype(np.float16)
    start = top.untuned_top(classifier, settings)
    tuned = top.tune(top.make_tunable(start, classifier.get_layer(HEAD_LAYER).get_weights(), settings),
                     [activations, activations[:, :, ::-1]], np.arange(8), labels, settings)
    efficientnet_lite.copy_shared_weights(tuned, classifier)

    before = lite0.get_layer("head_conv").get_weights()[0]
    assert not np.allclose(classifier.get_layer("head_conv").get_weights()[0], before)  # the classifier took it
    np.testing.assert_array_equal(start.model.get_layer("head_conv").get_weights()[0], before)  # ImageNet's did not
    np.testing.assert_array_equal(classifier.get_layer("block15_project_bn").get_weights()[2],
                                  lite0.get_layer("block15_project_bn").get_weights()[2])  # BatchNorm frozen

    kernel, bias = np.random.default_rng(2).normal(size=(1280, 1000)).astype(np.float32), np.zeros(1000, np.float32)
    logits, _, imagenet = make_logits_and_map(classifier, False, (kernel, bias), start).predict(images, verbose=0)
    untuned_features = keras.Model(lite0.input, lite0.get_layer(HEAD_LAYER).input).predict(images, verbose=0)
    np.testing.assert_allclose(imagenet, untuned_features.mean(axis=(1, 2)) @ kernel + bias, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(logits, tuned.predict(activations.astype(np.float32), verbose=0), rtol=1e-3, atol=1e-3)


def test_each_epoch_draws_one_view_of_every_photo():
    views = [np.zeros((5, 1), np.float16), np.ones((5, 1), np.float16)]
    batches = top.RandomViewBatches(views, np.arange(5), np.arange(5), batch_size=2, seed=0)
    seen = [batches[i] for i in range(len(batches))]
    assert len(batches) == 3
    assert sorted(np.concatenate([y for _, y in seen]).tolist()) == [0, 1, 2, 3, 4]
    drawn = np.concatenate([x[:, 0] for x, _ in seen])
    for _ in range(5):
        batches.on_epoch_end()
        drawn = np.concatenate([drawn] + [batches[i][0][:, 0] for i in range(len(batches))])
    assert set(drawn.tolist()) == {0.0, 1.0}  # both views get drawn


def test_weighted_epochs_draw_hard_photos_more_often_and_keep_the_epoch_length():
    views = [np.arange(10, dtype=np.float16)[:, None]]
    weights = np.ones(10)
    weights[7] = 6.0  # one hard photo among ten
    batches = top.RandomViewBatches(views, np.arange(10), np.arange(10), batch_size=5, seed=0, weights=weights)
    counts = np.zeros(10)
    for _ in range(400):
        counts += np.bincount(np.concatenate([batches[i][1] for i in range(len(batches))]), minlength=10)
        batches.on_epoch_end()
    assert counts.sum() == 400 * 10  # an epoch is still one draw per photo
    assert 5.0 < counts[7] / counts[np.arange(10) != 7].mean() < 7.0


def test_hard_photo_weights_follow_the_heads_doubt_about_the_label():
    inputs = keras.Input((2,))
    head = keras.Model(inputs, keras.layers.Dense(3, use_bias=False)(inputs))
    head.layers[-1].set_weights([np.array([[5.0, 0.0, 0.0], [0.0, 5.0, 0.0]], np.float32)])
    pooled = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], np.float32)  # cat-like, cat-like, dog-like
    labels = np.array([0, 1, 1])  # the second is labelled dog but looks like a cat to the head
    weights = top.hard_photo_weights(head, pooled, labels, hard_weight=4.0)
    assert weights[0] == pytest.approx(weights[2]) and weights[0] < 1.1
    assert weights[1] > 4.9
    assert top.hard_photo_weights(head, pooled, labels, hard_weight=0.0) is None


def test_a_negative_hard_weight_is_refused():
    with pytest.raises(ValueError):
        TrainConfig(tune_hard_weight=-1.0)
