"""Fusion variants refitted on a run's out-of-fold files: the first is the fusion `make train`
fits, the others move the way they say, and a run without the files is refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.inference.decision import decide
from training import fusion_variants
from training.fusion import nested_fusion_logits
from training.fusion_variants import (OFFSET_CLEARANCE, REFERENCE, Heads, Variant, judge_variants,
                                      nested_other_offsets, other_offset, read_out_of_fold)
from training.head import HeldOut
from training.metrics import by_kind
from training.run_files import RunFiles
from training.targets import MAX_PETS_CALLED_OTHER

CAT, DOG, OTHER = 0, 1, 2
KINDS_OF_OTHER = ("fox", "sofa", "valley")  # one per fold, as leave-kinds-out folds hold them out


def out_of_fold(seed: int = 0, count: int = 300) -> tuple[HeldOut, HeldOut]:
    """Heads that tell cats from dogs and half-know "other"; ImageNet that mostly knows "other" but
    also calls some pets "other": a fusion has something to trade."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, count)
    folds = rng.integers(0, 3, count)
    kinds = np.where(labels == CAT, "cat", np.where(labels == DOG, "dog", np.array(KINDS_OF_OTHER)[folds]))
    heads = []
    for noise in (1.0, 1.5):
        logits = rng.normal(0, noise, (count, 3)).astype(np.float32)
        logits[np.arange(count), labels] += 2.0
        heads.append(logits)
    imagenet = rng.normal(0, 0.5, (count, 1000)).astype(np.float32)
    says = np.where(rng.random(count) < 0.8, labels, OTHER)  # ImageNet right on 80%, else "other"
    imagenet[says == CAT, 281] += 6.0
    imagenet[says == DOG, 200] += 6.0
    imagenet[says == OTHER, 500] += 6.0
    paths = np.array([f"photo{i}.jpg" for i in range(count)])
    return (HeldOut(heads[0], labels, folds, kinds, paths, imagenet),
            HeldOut(heads[1], labels, folds, kinds, paths, imagenet))


def write_run(run_dir: Path, tuned: HeldOut, frozen: HeldOut) -> Path:
    run_dir.mkdir()
    tuned.save(RunFiles(run_dir).top_out_of_fold)
    frozen.save(RunFiles(run_dir).head_out_of_fold)
    return run_dir


@pytest.mark.slow  # fits the fusion many times
def test_the_first_variant_is_the_fusion_make_train_fits_and_the_second_holds_pets_to_the_limit():
    tuned, frozen = out_of_fold()
    imagenet_head = (np.zeros((4, 1000), np.float32), np.zeros(1000, np.float32))  # not read by the arithmetic
    fitted = nested_fusion_logits(tuned.logits, tuned.imagenet_logits, tuned.labels, tuned.folds, imagenet_head)
    limited, offsets = nested_other_offsets(fitted, tuned.labels, tuned.folds, MAX_PETS_CALLED_OTHER)
    reference, held_to_limit = judge_variants(tuned, frozen, fusion_variants.VARIANTS[:2])
    assert reference.variant == REFERENCE
    assert reference.figures == by_kind(decide(fitted), tuned.labels, tuned.kinds)
    assert reference.pets.only_first_right == reference.pets.only_second_right == 0  # itself, photo by photo
    assert held_to_limit.figures == by_kind(decide(limited), tuned.labels, tuned.kinds)
    assert held_to_limit.figures.pets_called_other < reference.figures.pets_called_other
    assert held_to_limit.other_offsets == offsets and reference.other_offsets is None


@pytest.mark.slow  # fits the fusion many times
def test_lowering_the_other_logit_only_trades_pets_for_other():
    tuned, frozen = out_of_fold()
    reference, lowered = judge_variants(tuned, frozen, [REFERENCE, Variant("lowered", other_shift=2.0)])
    # no pet that was right turns wrong, no "other" photo that was wrong turns right
    assert lowered.pets.only_first_right == 0 and lowered.other.only_second_right == 0
    assert lowered.pets.only_second_right > 0 and lowered.other.only_first_right > 0
    assert lowered.figures.pets_called_other < reference.figures.pets_called_other
    assert lowered.figures.other_recall < reference.figures.other_recall


@pytest.mark.slow  # fits the fusion many times
def test_weighting_pets_in_the_loss_calls_fewer_pets_other():
    tuned, frozen = out_of_fold(seed=1)
    reference, weighted = judge_variants(tuned, frozen, [REFERENCE, Variant("pets x10", pet_weight=10.0)])
    assert weighted.figures.pets_called_other < reference.figures.pets_called_other


def test_each_kind_of_heads_feeds_the_fusion_its_own_logits():
    tuned, frozen = out_of_fold()
    assert Heads.TUNED.logits(tuned, frozen) is tuned.logits
    assert Heads.TUNED_AND_FROZEN.logits(tuned, frozen).shape == (len(tuned.labels), 6)
    np.testing.assert_allclose(Heads.MEAN.logits(tuned, frozen), (tuned.logits + frozen.logits) / 2)


@pytest.mark.slow  # fits the fusion many times
def test_the_command_judges_every_variant_and_writes_them(tmp_path: Path, capsys):
    run_dir = write_run(tmp_path / "run", *out_of_fold())
    assert fusion_variants.main([f"--run_dir={run_dir}"]) == 0
    saved = json.loads((run_dir / "fusion-variants.json").read_text())
    assert [variant["variant"] for variant in saved["variants"]] == [v.name for v in fusion_variants.VARIANTS]
    assert saved["variants"][0]["pets"]["only_variant_right"] == 0
    assert set(saved["variants"][0]["figures"]["other_recall_by_kind"]) == set(KINDS_OF_OTHER)
    printed = capsys.readouterr().out
    assert "nine inputs" in printed and "'other' logit lowered by fold: 0: " in printed
    assert saved["variants"][1]["other_offsets_by_fold"].keys() == {"0", "1", "2"}


def test_a_run_without_a_tuned_top_is_refused(tmp_path: Path):
    tuned, frozen = out_of_fold()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    frozen.save(RunFiles(run_dir).head_out_of_fold)
    with pytest.raises(FileNotFoundError, match="tune its top by cross-validation"):
        read_out_of_fold(run_dir)


def test_out_of_fold_files_of_different_folds_are_refused(tmp_path: Path):
    tuned, frozen = out_of_fold()
    frozen.folds = (frozen.folds + 1) % 3
    with pytest.raises(ValueError, match="same folds"):
        read_out_of_fold(write_run(tmp_path / "run", tuned, frozen))


def test_a_single_fold_cannot_be_nested():
    tuned, frozen = out_of_fold()
    tuned.folds = np.zeros_like(tuned.folds)
    with pytest.raises(ValueError, match="two folds"):
        judge_variants(tuned, tuned, [REFERENCE])


def pets_called_other(logits: np.ndarray, labels: np.ndarray) -> int:
    return int(((logits.argmax(axis=1) == OTHER) & (labels != OTHER)).sum())


def test_the_other_offset_is_the_least_that_keeps_pets_called_other_within_the_limit():
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 3, 2000)
    logits = rng.normal(0, 1, (2000, 3)).astype(np.float32)
    logits[np.arange(2000), labels] += 2.0  # right mostly, but many pets called "other"
    limit = 0.01
    allowed = int(limit * (labels != OTHER).sum())
    assert pets_called_other(logits, labels) > allowed
    offset = other_offset(logits, labels, limit)
    lowered = logits.copy()
    lowered[:, OTHER] -= offset
    assert pets_called_other(lowered, labels) <= allowed
    a_little_less = logits.copy()
    a_little_less[:, OTHER] -= offset - 2 * OFFSET_CLEARANCE
    assert pets_called_other(a_little_less, labels) > allowed
    assert other_offset(lowered, labels, limit) == 0.0  # already within: nothing to lower


def test_each_fold_is_judged_with_the_offset_the_other_folds_need():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, 900)
    folds = np.repeat([0, 1, 2], 300)
    logits = rng.normal(0, 1, (900, 3)).astype(np.float32)
    logits[np.arange(900), labels] += 2.0
    lowered, offsets = nested_other_offsets(logits, labels, folds, 0.01)
    for fold in range(3):
        held = folds == fold
        assert offsets[fold] == other_offset(logits[~held], labels[~held], 0.01) > 0
        np.testing.assert_allclose(logits[held, OTHER] - lowered[held, OTHER], offsets[fold], rtol=1e-6)
        np.testing.assert_array_equal(lowered[held, :OTHER], logits[held, :OTHER])

