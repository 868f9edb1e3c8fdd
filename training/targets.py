"""The targets a shipped model is held to, and the verdict on each: numbers in, rows out."""

from __future__ import annotations

from app.inference.measured import KindFigures, Metrics, SplitFigures
from training import recipes

MAX_PETS_CALLED_OTHER = 0.005  # fraction of cats and dogs answered "other", on test and held out
MAX_ONNX_MB = 25.0
# name, figure (a SplitFigures field), comparison, threshold; cat-vs-dog counts a pet called "other" as a mistake
TARGETS = (
    ("cat-vs-dog accuracy (test)", "cat_vs_dog_accuracy", ">=", 0.99),
    ("'other' recall (test)", "other_recall", ">=", 0.98),
    ("cats and dogs called 'other'", "pets_called_other", "<=", MAX_PETS_CALLED_OTHER),
    ("expected calibration error", "ece", "<=", 0.02),
)
# "other" must hold for kinds of things the model never trained on: judged on the
# held-out kinds of cross-validation. Name, kind (None: all held-out kinds), goal.
KIND_TARGETS = (
    ("'other' recall, people held out", "person", 0.97),
    ("'other' recall, clothing held out", "clothing", 0.97),
    ("'other' recall, scenes held out", "scene", 0.97),
    ("'other' recall, all held-out kinds", None, 0.90),
)


def check_targets(test: SplitFigures, onnx_mb: float | None) -> list[dict]:
    """One row per target: the measured value, the goal (as text and as numbers) and whether it is met."""
    rows = [target_row(name, getattr(test, figure), op, threshold, "fraction")
            for name, figure, op, threshold in TARGETS]
    if onnx_mb is not None:
        rows.append(target_row("ONNX file size (MB)", onnx_mb, "<=", MAX_ONNX_MB, "MB"))
    return rows


def check_kind_targets(held_out: KindFigures) -> list[dict]:
    """The "neither" targets on held-out kinds, and pets called "other" on held-out pets."""
    recall = {**held_out.other_recall_by_kind, None: held_out.other_recall}
    rows = [target_row(name, recall[kind], ">=", goal, "fraction")
            for name, kind, goal in KIND_TARGETS if recall.get(kind) is not None]
    rows.append(target_row("cats and dogs called 'other' (held out)", held_out.pets_called_other, "<=",
                           MAX_PETS_CALLED_OTHER, "fraction"))
    return rows


def target_row(name: str, value: float, op: str, threshold: float, unit: str) -> dict:
    met = value >= threshold if op == ">=" else value <= threshold
    return {"target": name, "value": value, "goal": f"{op} {threshold:g}", "op": op, "threshold": threshold,
            "unit": unit, "met": bool(met)}


def shipped_targets(run_metrics: Metrics, onnx_mb: float | None) -> list[dict]:
    """Every target of a run: on its test split, its served file's size, and, when it was
    judged on held-out kinds, on those of the shipped way of answering."""
    rows = check_targets(run_metrics.test, onnx_mb)
    if recipes.SHIPPED in run_metrics.held_out_kinds:
        rows += check_kind_targets(run_metrics.held_out_kinds[recipes.SHIPPED])
    return rows
