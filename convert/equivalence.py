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

import numpy as np

from training.metrics import Paired

MAX_DROP = 0.0015
ALPHA = 0.05


def compare(reference_right: np.ndarray, variant_right: np.ndarray) -> dict:
    """The rule's figures and verdict for two boolean arrays (right or not, per photo)."""
    figures = Paired.of(reference_right, variant_right)
    drop = (figures.only_first_right - figures.only_second_right) / max(figures.photos, 1)
    wins_more = figures.only_second_right >= figures.only_first_right
    return {
        **figures.named("reference", "variant"),
        "accuracy_drop": drop,
        "equivalent": bool(drop <= MAX_DROP and (figures.mcnemar_p >= ALPHA or wins_more)),
        "rule": f"accuracy drop <= {MAX_DROP:g} and McNemar p >= {ALPHA:g} (unless the variant wins more "
                "disagreements than it loses)",
    }
