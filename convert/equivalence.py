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

from training.metrics import mcnemar_p

MAX_DROP = 0.0015
ALPHA = 0.05


def compare(reference_right: np.ndarray, variant_right: np.ndarray) -> dict:
    """The rule's figures and verdict for two boolean arrays (right or not, per photo)."""
    reference_right, variant_right = np.asarray(reference_right, bool), np.asarray(variant_right, bool)
    only_reference = int((reference_right & ~variant_right).sum())
    only_variant = int((variant_right & ~reference_right).sum())
    drop = (only_reference - only_variant) / max(len(reference_right), 1)
    p = mcnemar_p(only_reference, only_variant)
    return {
        "photos": int(len(reference_right)),
        "only_reference_right": only_reference,
        "only_variant_right": only_variant,
        "accuracy_drop": drop,
        "mcnemar_p": p,
        "equivalent": bool(drop <= MAX_DROP and (p >= ALPHA or only_variant >= only_reference)),
        "rule": f"accuracy drop <= {MAX_DROP:g} and McNemar p >= {ALPHA:g} (unless the variant wins more "
                "disagreements than it loses)",
    }
