"""What a run measured, as its contract carries it: typed figures, written and read as JSON
(dataclasses.asdict; what a run did not measure is null or empty).

Training computes them (training/metrics.py), the model card and its targets read them,
GET /api/v1/model shows them. Fractions are 0..1; a figure is None where it has nothing
to count (no pets, or no "other" photos, among the photos measured).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class ClassFigures:
    precision: float
    recall: float
    support: int  # photos of this class


@dataclass
class SplitFigures:
    """The headline figures of one set of photos (the test split, val, or out-of-fold predictions)."""
    count: int
    accuracy: float  # all photos, three classes
    cat_vs_dog_accuracy: float | None  # pets given their own class: a pet called "other" is a mistake
    other_recall: float | None
    pets_called_other: float | None
    ece: float
    confusion_matrix: list[list[int]]  # rows: true class, columns: predicted class
    per_class: dict[str, ClassFigures] = field(default_factory=dict)  # optional: not every record has it
    # pets, made to choose: the likelier of cat and dog, "other" set aside (the original
    # Kaggle task); optional: not every record has it
    forced_choice_accuracy: float | None = None

    @classmethod
    def from_dict(cls, values: dict) -> "SplitFigures":
        per_class = {name: build(ClassFigures, figures) for name, figures in (values.get("per_class") or {}).items()}
        return build(cls, {**values, "per_class": per_class})


@dataclass
class KindFigures:
    """"Other" recall for each kind of "other" photo, and what happened to the pets: the figures
    by which ways of answering are judged on kinds held out of training."""
    other_recall_by_kind: dict[str, float]
    other_count_by_kind: dict[str, int]
    other_recall: float | None
    other_recall_mean_of_kinds: float | None
    other_recall_worst_kind: float | None
    pets: int
    pets_called_other: float | None
    pet_mistakes: int  # pets called the other pet or "other"
    cat_vs_dog_accuracy: float | None
    log_loss: float | None = None  # for the ways of answering that have probabilities


@dataclass
class PairedFigures:
    """The tuned top against the frozen backbone, photo by photo on the same held-out photos."""
    photos: int
    only_tuned_right: int
    only_frozen_right: int
    mcnemar_p: float
    tuned_right: int | None = None  # optional: not every contract records these two
    frozen_right: int | None = None


# The held-out photos a run is chosen by, in order of preference: the out-of-fold predictions
# of cross-validation over train + val, else the val split.
HELD_OUT_KEYS = ("cv", "val")


@dataclass
class Metrics:
    """A run's figures, by the photos they were measured on."""
    test: SplitFigures
    val: SplitFigures | None = None  # when the head was fitted on train alone
    cv: SplitFigures | None = None  # out-of-fold predictions, when cross-validation fitted it on train + val
    test_by_kind: KindFigures | None = None
    # each way of answering (training/recipes.py) judged on kinds held out of training
    held_out_kinds: dict[str, KindFigures] = field(default_factory=dict)
    tuned_against_frozen: dict[str, PairedFigures] = field(default_factory=dict)  # "pets", "other" -> paired figures

    @property
    def held_out(self) -> tuple[str, SplitFigures] | None:
        """The held-out photos the run was chosen by (HELD_OUT_KEYS), and their figures."""
        return next(((key, getattr(self, key)) for key in HELD_OUT_KEYS if getattr(self, key) is not None), None)

    @classmethod
    def from_dict(cls, values: dict) -> "Metrics":
        splits = {key: SplitFigures.from_dict(values[key]) for key in ("test", *HELD_OUT_KEYS)
                  if values.get(key) is not None}
        by_kind = values.get("test_by_kind")
        return build(cls, {**values, **splits,
                           "test_by_kind": build(KindFigures, by_kind) if by_kind else None,
                           "held_out_kinds": {name: build(KindFigures, figures)
                                              for name, figures in (values.get("held_out_kinds") or {}).items()},
                           "tuned_against_frozen": {name: build(PairedFigures, paired) for name, paired
                                                    in (values.get("tuned_against_frozen") or {}).items()}})


def build(cls: type, values: dict):
    """cls(**values), refusing fields the contract does not define (a typo would be lost)."""
    unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    return cls(**values)
