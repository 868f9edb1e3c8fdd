"""The numeric-equivalence rule on made-up prediction sets: it ships and refuses where it should."""

from __future__ import annotations

import numpy as np
import pytest

from convert.equivalence import RULE, compare


def right_and_wrong(photos: int, wrong: list[int]) -> np.ndarray:
    right = np.ones(photos, bool)
    right[wrong] = False
    return right


def test_a_variant_that_trades_a_few_photos_evenly_is_equivalent():
    reference = right_and_wrong(3000, [1, 2, 3, 4])
    variant = right_and_wrong(3000, [3, 4, 5, 6])  # breaks 5 and 6, fixes 1 and 2
    verdict = compare(reference, variant)
    assert verdict.paired.only_first_right == verdict.paired.only_second_right == 2
    assert verdict.paired.mcnemar_p == 1.0 and verdict.equivalent


def test_one_photo_more_wrong_in_thousands_is_noise():
    verdict = compare(right_and_wrong(3000, [1]), right_and_wrong(3000, [1, 2]))
    assert verdict.accuracy_drop == pytest.approx(1 / 3000) and verdict.equivalent


def test_a_variant_that_loses_every_disagreement_is_refused_even_if_the_drop_is_small():
    verdict = compare(right_and_wrong(10000, []), right_and_wrong(10000, list(range(12))))
    assert verdict.accuracy_drop < 0.0015 and verdict.paired.mcnemar_p < 0.05
    assert not verdict.equivalent


def test_a_drop_above_the_ceiling_is_refused_even_without_significance():
    verdict = compare(right_and_wrong(400, [0, 1]), right_and_wrong(400, [2, 3, 4]))  # 0.25 points
    assert verdict.paired.mcnemar_p > 0.05 and not verdict.equivalent


def test_a_variant_that_wins_is_equivalent():
    verdict = compare(right_and_wrong(500, list(range(10))), right_and_wrong(500, []))
    assert verdict.accuracy_drop < 0 and verdict.equivalent


def test_the_verdict_as_json_names_the_two_models_and_states_the_rule():
    verdict = compare(right_and_wrong(1000, [0, 1, 2]), right_and_wrong(1000, [2, 3]))
    assert verdict.as_json() == {
        "photos": 1000, "reference_right": 997, "variant_right": 998, "only_reference_right": 1,
        "only_variant_right": 2, "mcnemar_p": verdict.paired.mcnemar_p, "accuracy_drop": -0.001,
        "equivalent": True, "rule": RULE}
