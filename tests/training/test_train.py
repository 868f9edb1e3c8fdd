"""Training from scratch: the learning rate anneals over whichever of the time budget and the
steps runs out first, training stops when the time is up, and "other" photos can weigh less."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from app.inference.decision import CAT, CLASS_NAMES, DOG, OTHER
from training.config import TrainConfig
from training.train import _TimeBudget, augmented_batches, budget_cosine, class_weights


def test_the_schedule_starts_at_the_peak_and_ends_at_zero_on_the_faster_clock():
    assert budget_cosine(1e-3, 0.0, 0.0) == pytest.approx(1e-3)
    assert budget_cosine(1e-3, 0.5, 0.0) == pytest.approx(5e-4)
    assert budget_cosine(1e-3, 0.0, 0.5) == pytest.approx(5e-4)  # the steps ran out faster than the time
    assert budget_cosine(1e-3, 0.25, 0.75) == budget_cosine(1e-3, 0.75, 0.25)
    assert budget_cosine(1e-3, 1.0, 0.2) == pytest.approx(0.0, abs=1e-12)
    assert budget_cosine(1e-3, 3.0, 0.2) == pytest.approx(0.0, abs=1e-12)  # over the budget: stays at zero


class _Rates(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def _fit(budget: _TimeBudget, steps: int) -> tuple[_Rates, keras.callbacks.History]:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(budget.peak), "mse")
    rates = _Rates()
    x, y = np.ones((steps * 2, 4), np.float32), np.zeros((steps * 2, 1), np.float32)
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[budget, rates], shuffle=False)
    return rates, history


def test_with_time_to_spare_the_rate_follows_the_steps_down_to_almost_nothing():
    steps = 10
    rates, _ = _fit(_TimeBudget(3600, 1e-2, total_steps=steps), steps)
    assert len(rates.seen) == steps
    assert rates.seen[0] == pytest.approx(1e-2)
    assert all(later < earlier for earlier, later in zip(rates.seen, rates.seen[1:]))
    assert rates.seen[-1] == pytest.approx(1e-2 * 0.5 * (1 + math.cos(math.pi * 0.9)), rel=1e-5)


def test_when_the_time_is_up_training_stops_after_the_batch_it_is_in():
    rates, _ = _fit(_TimeBudget(1e-9, 1e-2, total_steps=50), 50)
    assert len(rates.seen) == 1


def _first_epoch_loss(other_loss_weight: float, labels: np.ndarray) -> float:
    """The loss of one epoch on one augmented batch, with the weights make train gives fit. The
    model answers the same for every photo and does not learn (learning rate 0), so each photo's
    loss is log 3 and the epoch's loss is log 3 times the batch's mean weight."""
    config = TrainConfig(model="simple-cnn", batch_size=len(labels), other_loss_weight=other_loss_weight)
    images = np.zeros((len(labels), 32, 32, 3), np.uint8)
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(len(CLASS_NAMES), kernel_initializer="zeros")])
    model.compile(keras.optimizers.SGD(0.0),
                  keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=config.label_smoothing))
    history = model.fit(augmented_batches(images, labels, config), class_weight=class_weights(config),
                        steps_per_epoch=1, epochs=1, verbose=0)
    return history.history["loss"][0]


def test_an_other_photo_weighs_what_its_class_weighs_in_the_loss():
    labels = np.array([CAT, OTHER, DOG, OTHER, OTHER, CAT])
    assert class_weights(TrainConfig(model="simple-cnn", other_loss_weight=0.5)) == {CAT: 1.0, DOG: 1.0, OTHER: 0.5}
    assert _first_epoch_loss(0.5, labels) == pytest.approx(math.log(3) * (3 * 1.0 + 3 * 0.5) / 6, rel=1e-5)


def test_the_batches_hold_each_photo_once_with_its_label():
    labels = np.array([CAT, OTHER, DOG, OTHER, OTHER, CAT])
    config = TrainConfig(model="simple-cnn", batch_size=len(labels))
    images, one_hot = (keras.ops.convert_to_numpy(t) for t in
                       next(iter(augmented_batches(np.zeros((6, 32, 32, 3), np.uint8), labels, config))))
    assert images.shape == (6, 32, 32, 3)
    assert sorted(one_hot.argmax(axis=1).tolist()) == sorted(labels.tolist())


@pytest.mark.parametrize("options", [dict(other_loss_weight=0.0), dict(other_loss_weight=-1.0),
                                     dict(other_loss_weight=0.5)])  # the shipped recipe has no stage 2
def test_a_loss_weight_that_would_be_ignored_or_is_not_a_weight_is_refused(options):
    with pytest.raises(ValueError, match="other_loss_weight"):
        TrainConfig(**options)


def test_a_loss_weight_is_taken_where_stage_2_runs():
    assert TrainConfig(model="simple-cnn", other_loss_weight=0.5).other_loss_weight == 0.5
    assert TrainConfig(head_folds=0, finetune_epochs=1, other_loss_weight=0.5).other_loss_weight == 0.5


def test_by_default_every_photo_weighs_the_same():
    assert set(class_weights(TrainConfig()).values()) == {1.0}
    assert _first_epoch_loss(1.0, np.array([CAT, DOG, OTHER, OTHER])) == pytest.approx(math.log(3), rel=1e-5)
