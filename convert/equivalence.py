"""When a lighter variant of the model (int8, fp16, pruned...) may stand in for the
float32 one: the numeric-equivalence rule, stated once and applied by convert.quantize.

A variant is equivalent when, photo by photo on held-out photos,
- it gets at most MAX_DROP (0.15 points) fewer right than float32, and
- the photos on which the two disagree do not show it worse beyond chance: an exact
  two-sided McNemar test, p >= ALPHA (0.05), unless it wins more of them than it loses.

Speed is not part of equivalence: an equivalent variant ships beside float32, and
the app runs whichever is faster on the CPU it finds (app/inference/model.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.metrics import Paired

MAX_DROP = 0.0015
ALPHA = 0.05
RULE = (f"accuracy drop <= {MAX_DROP:g} and McNemar p >= {ALPHA:g} (unless the variant wins more "
        "disagreements than it loses)")


@dataclass(frozen=True)
class Verdict:
    """The reference (float32) and the variant judged photo by photo, and the rule's answer."""
    paired: Paired  # first: the reference, second: the variant

    @property
    def accuracy_drop(self) -> float:
        """Points of accuracy the variant loses, as a fraction (negative when it wins)."""
        return (self.paired.only_first_right - self.paired.only_second_right) / max(self.paired.photos, 1)

    @property
    def equivalent(self) -> bool:
        wins_more = self.paired.only_second_right >= self.paired.only_first_right
        return self.accuracy_drop <= MAX_DROP and (self.paired.mcnemar_p >= ALPHA or wins_more)

    def as_json(self) -> dict:
        return {**self.paired.named("reference", "variant"), "accuracy_drop": self.accuracy_drop,
                "equivalent": self.equivalent, "rule": RULE}


def compare(reference_right: np.ndarray, variant_right: np.ndarray) -> Verdict:
    """The rule's verdict for two boolean arrays (right or not, per photo)."""
    return Verdict(Paired.of(reference_right, variant_right))
