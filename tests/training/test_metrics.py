"""Calibration and evaluation arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from app.inference.measured import ClassFigures
from training import metrics


def sample_logits(n: int, temperature: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(logits / temperature): calibrated at exactly that temperature."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (n, 3))
    p = metrics.softmax(logits, temperature)
    labels = np.array([rng.choice(3, p=row) for row in p])
    return logits, labels


def test_temperature_fit_recovers_the_true_temperature():
    logits, labels = sample_logits(20_000, temperature=2.5)
    assert metrics.fit_temperature(logits, labels) == pytest.approx(2.5, rel=0.08)


def test_calibrated_probabilities_have_small_ece_and_overconfident_ones_do_not():
    logits, labels = sample_logits(20_000, temperature=2.0)
    assert metrics.reliability(metrics.softmax(logits, 2.0), labels)["ece"] < 0.02
    assert metrics.reliability(metrics.softmax(logits, 0.5), labels)["ece"] > 0.05


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    matrix = metrics.confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0]), 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]


def test_roc_auc_extremes():
    positives = np.array([1, 1, 0, 0], bool)
    assert metrics.roc_curve(np.array([0.9, 0.8, 0.2, 0.1]), positives)[2] == pytest.approx(1.0)
    assert metrics.roc_curve(np.array([0.1, 0.2, 0.8, 0.9]), positives)[2] == pytest.approx(0.0)


def test_summary_separates_cat_vs_dog_from_other():
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 2, 1, 1, 2, 0])  # one cat called other, one other called cat
    probabilities = np.eye(3)[predicted] * 0.9 + 0.1 / 3
    summary = metrics.summarise(probabilities, labels, ("cat", "dog", "other"))
    assert summary.cat_vs_dog_accuracy == pytest.approx(3 / 4)
    assert summary.pets_called_other == pytest.approx(1 / 4)
    assert summary.other_recall == pytest.approx(1 / 2)
    assert summary.per_class["cat"] == ClassFigures(precision=0.5, recall=0.5, support=2)


def test_forced_choice_gives_each_pet_the_likelier_of_cat_and_dog_and_ignores_other_photos():
    labels = np.array([0, 0, 1, 1, 2])
    probabilities = np.array([[0.3, 0.1, 0.6],   # a cat called "other", but cat beats dog: right
                              [0.2, 0.3, 0.5],   # a cat called "other", dog beats cat: wrong
                              [0.1, 0.8, 0.1],   # a dog: right
                              [0.6, 0.3, 0.1],   # a dog called cat: wrong
                              [0.9, 0.0, 0.1]])  # "other" photos do not count
    assert metrics.forced_choice_accuracy(probabilities, labels) == pytest.approx(2 / 4)
    assert metrics.summarise(probabilities, labels, ("cat", "dog", "other")).forced_choice_accuracy == 0.5
    assert metrics.forced_choice_accuracy(probabilities[4:], labels[4:]) is None


def test_pet_mistakes_count_pets_given_the_wrong_pet_or_other_but_not_other_errors():
    matrix = [[10, 2, 1],   # cats: 2 called dog, 1 called other
              [3, 20, 0],   # dogs: 3 called cat
              [4, 5, 30]]   # "other" mistakes are not pet mistakes
    assert metrics.pet_mistakes(matrix) == 6
    assert metrics.pet_mistakes([[5, 0, 0], [0, 5, 0], [1, 1, 5]]) == 0
    assert metrics.pet_count(matrix) == 36  # the cat and dog rows, "other" left out


def test_mcnemar_p_is_one_without_disagreement_and_small_when_one_side_wins_them_all():
    from training.metrics import mcnemar_p

    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(3, 3) == 1.0
    assert mcnemar_p(1, 0) == 1.0  # one photo is noise
    assert mcnemar_p(0, 10) == mcnemar_p(10, 0) == pytest.approx(2 / 2 ** 10)
    assert mcnemar_p(2, 9) == pytest.approx(2 * (1 + 11 + 55) / 2 ** 11)  # P(X <= 2), X ~ Bin(11, 1/2), twice


def test_paired_counts_each_model_s_lone_successes_over_the_chosen_photos_and_names_them():
    first = np.array([True, True, False, False, False, False, True])
    second = np.array([True, False, True, True, True, True, False])
    everything = metrics.Paired.of(first, second)
    assert (everything.photos, everything.first_right, everything.second_right) == (7, 3, 5)
    assert (everything.only_first_right, everything.only_second_right) == (2, 4)
    assert everything.mcnemar_p == metrics.mcnemar_p(2, 4)
    last_left_out = metrics.Paired.of(first, second, rows=np.arange(7) < 6)
    assert (last_left_out.photos, last_left_out.only_first_right, last_left_out.only_second_right) == (6, 1, 4)
    named = last_left_out.named("tuned", "frozen")
    assert named == {"photos": 6, "tuned_right": 2, "frozen_right": 5, "only_tuned_right": 1,
                     "only_frozen_right": 4, "mcnemar_p": metrics.mcnemar_p(1, 4)}
    assert metrics.Paired.from_named(named, "tuned", "frozen") == last_left_out
    assert last_left_out.sentence("tuned", "frozen") == \
        f"     6 photos: tuned 2, frozen 5 right; only tuned 1, only frozen 4 (McNemar p = {metrics.mcnemar_p(1, 4):.3g})"
