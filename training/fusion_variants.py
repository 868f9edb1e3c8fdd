"""Other ways to fuse the head with ImageNet, refitted on one run's out-of-fold files and judged
photo by photo against the fusion `make train` fits: a fusion recipe judged in minutes, with no
retraining.

    python -m training.fusion_variants --run_dir var/runs/audited

Every variant is fitted nested by fold, as training/fusion.py fits the shipped one, so each photo
is scored by heads and a fusion that never saw it, nor its kind of "other". The first is the
fusion as `make train` fits and ships it; the others are judged against it. The run must have
tuned its top by cross-validation (it then has both out-of-fold files: the frozen backbone's head
and the tuned top's). Prints each variant's held-out figures and its photo-by-photo comparison
with the first, and writes them as JSON (default RUN/fusion-variants.json).
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.inference.decision import CAT, CLASS_NAMES, DOG, OTHER, decide
from training.fusion import fit_logits, imagenet_log_groups
from training.head import HeldOut
from training.metrics import KindFigures, Paired, by_kind
from training.run_files import RunFiles
from training.targets import MAX_PETS_CALLED_OTHER


class Heads(enum.Enum):
    """Which head logits the fusion reads, beside ImageNet's three group log-probabilities."""
    TUNED = "the tuned top's"
    TUNED_AND_FROZEN = "the tuned top's and the frozen backbone's"
    MEAN = "the mean of the tuned and the frozen"

    def logits(self, tuned: HeldOut, frozen: HeldOut) -> np.ndarray:
        if self is Heads.TUNED:
            return tuned.logits
        if self is Heads.TUNED_AND_FROZEN:
            return np.concatenate([tuned.logits, frozen.logits], axis=1)
        return (tuned.logits + frozen.logits) / 2


@dataclass(frozen=True)
class Variant:
    name: str
    heads: Heads = Heads.TUNED
    pet_weight: float = 1.0  # the pets' weight in the fusion's loss ("other" photos weigh 1)
    other_shift: float = 0.0  # subtracted from the fused "other" logit before deciding
    hidden: int = 0  # width of a ReLU layer beside the linear fusion (0: linear, as shipped)
    pets_called_other_limit: float | None = None  # then lowered until at most this share of pets are "other"

    @property
    def fit_key(self) -> tuple[Heads, float, int]:
        """What the fitted logits depend on: variants that differ only in how far they lower the
        "other" logit share one fit."""
        return self.heads, self.pet_weight, self.hidden


REFERENCE = Variant("tuned top + ImageNet, as make train fits it")
VARIANTS = (
    REFERENCE,
    Variant("'other' logit lowered until at most 0.5% of pets are 'other' (nested)",
            pets_called_other_limit=MAX_PETS_CALLED_OTHER),
    Variant("tuned top + frozen head + ImageNet (nine inputs)", heads=Heads.TUNED_AND_FROZEN),
    Variant("mean of tuned and frozen logits + ImageNet", heads=Heads.MEAN),
    Variant("pets weighted twice in the fusion's loss", pet_weight=2.0),
    *(Variant(f"'other' logit lowered by {shift}", other_shift=shift) for shift in (0.25, 0.5, 1.0)),
    Variant("a hidden layer of 16 beside the linear fusion", hidden=16),
)


OFFSET_CLEARANCE = 1e-4  # the pet an "other" offset is set by must not stay "other" by a rounding error


def other_offset(logits: np.ndarray, labels: np.ndarray, max_pets_called_other: float) -> float:
    """The least amount to lower the "other" logit by so that at most `max_pets_called_other`
    of the pets in `logits` are answered "other" (0 when they already are)."""
    pets = labels != OTHER
    # how far each pet's "other" logit beats its better pet logit; > 0 means answered "other"
    margins = np.sort(logits[pets, OTHER] - logits[pets][:, [CAT, DOG]].max(axis=1))[::-1]
    allowed = int(np.floor(max_pets_called_other * pets.sum()))
    if allowed >= len(margins) or margins[allowed] <= 0:
        return 0.0
    return float(margins[allowed]) + OFFSET_CLEARANCE


def nested_other_offsets(logits: np.ndarray, labels: np.ndarray, folds: np.ndarray,
                         max_pets_called_other: float) -> tuple[np.ndarray, dict[int, float]]:
    """Out-of-fold logits with each fold's "other" logit lowered by the offset the other folds
    need, so that the limit is judged on photos it was not chosen on. (The other folds' logits
    come from fusions that were fitted with this fold: a second-order leak, small beside the
    fold-to-fold spread of the offsets.) Returns the lowered logits and each fold's offset."""
    lowered, offsets = np.array(logits, np.float32, copy=True), {}
    for fold in np.unique(folds):
        held = folds == fold
        offsets[int(fold)] = other_offset(logits[~held], labels[~held], max_pets_called_other)
        lowered[held, OTHER] -= offsets[int(fold)]
    return lowered, offsets


@dataclass
class VariantResult:
    variant: Variant
    figures: KindFigures
    pets: Paired  # photo by photo: the reference first, this variant second
    other: Paired
    other_offsets: dict[int, float] | None = None  # per fold, when lowered to a limit on pets called "other"

    def to_dict(self) -> dict:
        return {"variant": self.variant.name, "figures": dataclasses.asdict(self.figures),
                "pets": self.pets.named("reference", "variant"), "other": self.other.named("reference", "variant"),
                "other_offsets_by_fold": self.other_offsets}

    def lines(self) -> list[str]:
        figures = self.figures
        worst = sorted(figures.other_recall_by_kind.items(), key=lambda kind_recall: kind_recall[1])[:5]
        return [self.variant.name,
                f"    pet mistakes {figures.pet_mistakes} of {figures.pets}, "
                f"pets called 'other' {figures.pets_called_other:.2%}, 'other' recall {figures.other_recall:.2%}",
                "    worst kinds: " + ", ".join(f"{kind} {recall:.1%}" for kind, recall in worst),
                f"    pets  {self.pets.sentence('reference', 'variant')}",
                f"    other {self.other.sentence('reference', 'variant')}"] + \
            ([f"    'other' logit lowered by fold: {self._offsets()}"] if self.other_offsets else [])

    def _offsets(self) -> str:
        return ", ".join(f"{fold}: {offset:.3f}" for fold, offset in self.other_offsets.items())


def read_out_of_fold(run_dir: Path) -> tuple[HeldOut, HeldOut]:
    """The tuned top's and the frozen head's out-of-fold scores, photo for photo."""
    files = RunFiles(run_dir)
    for path in (files.top_out_of_fold, files.head_out_of_fold):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: the run must tune its top by cross-validation")
    tuned, frozen = HeldOut.load(files.top_out_of_fold), HeldOut.load(files.head_out_of_fold)
    if not (np.array_equal(tuned.paths, frozen.paths) and np.array_equal(tuned.folds, frozen.folds)):
        raise ValueError("the two out-of-fold files do not hold out the same photos in the same folds")
    if tuned.imagenet_logits is None:
        raise ValueError("the out-of-fold file has no ImageNet logits: the run was trained without the fusion")
    return tuned, frozen


def nested_logits(x: np.ndarray, labels: np.ndarray, folds: np.ndarray, variant: Variant) -> np.ndarray:
    """Each photo's fused logits from a fusion fitted without its fold."""
    if len(np.unique(folds)) < 2:
        raise ValueError("a nested fit needs at least two folds")
    weights = np.where(labels == OTHER, 1.0, variant.pet_weight).astype(np.float32)
    logits = np.zeros((len(x), len(CLASS_NAMES)), np.float32)
    for fold in np.unique(folds):
        held = folds == fold
        model = fit_logits(x[~held], labels[~held], weights[~held], hidden=variant.hidden)
        logits[held] = model.predict_on_batch(x[held])
    return logits


def judge_variants(tuned: HeldOut, frozen: HeldOut, variants: Sequence[Variant] = VARIANTS) -> list[VariantResult]:
    """Every variant's held-out figures, and photo by photo against the first (the reference)."""
    groups = imagenet_log_groups(tuned.imagenet_logits)
    fitted: dict[tuple, np.ndarray] = {}
    results, reference_right = [], None
    for variant in variants:
        if variant.fit_key not in fitted:
            x = np.concatenate([variant.heads.logits(tuned, frozen), groups], axis=1).astype(np.float32)
            fitted[variant.fit_key] = nested_logits(x, tuned.labels, tuned.folds, variant)
        logits = fitted[variant.fit_key].copy()
        logits[:, OTHER] -= variant.other_shift
        offsets = None
        if variant.pets_called_other_limit is not None:
            logits, offsets = nested_other_offsets(logits, tuned.labels, tuned.folds, variant.pets_called_other_limit)
        answers = decide(logits)
        right = answers == tuned.labels
        reference_right = right if reference_right is None else reference_right
        pets = tuned.labels != OTHER
        results.append(VariantResult(variant, by_kind(answers, tuned.labels, tuned.kinds),
                                     Paired.of(reference_right, right, pets),
                                     Paired.of(reference_right, right, ~pets), offsets))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run_dir", required=True, help="a run that tuned its top by cross-validation")
    parser.add_argument("--output", help="JSON file (default: RUN_DIR/fusion-variants.json)")
    args = parser.parse_args(argv)
    results = judge_variants(*read_out_of_fold(Path(args.run_dir)))
    for result in results:
        print("\n".join(result.lines()))
    output = Path(args.output or Path(args.run_dir) / "fusion-variants.json")
    output.write_text(json.dumps({"run_dir": args.run_dir, "variants": [r.to_dict() for r in results]}, indent=1))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
