"""The model card's tables, as Markdown rows: targets, per class, confusion, kinds of "other",
held-out comparisons, and the runs the shipped model is compared with."""

from __future__ import annotations

from dataclasses import dataclass

from app.inference.measured import KindFigures, Metrics, PairedFigures, SplitFigures
from training import metrics


@dataclass
class ComparedRun:
    """A run in the comparison table: its test figures, the confusion matrix of the held-out
    photos it was chosen by (the val split, or the out-of-fold predictions of cross-validation
    over train + val), and a note (earlier runs have one)."""
    test: SplitFigures
    held_out_matrix: tuple[str, list[list[int]]] | None = None  # ("cv" or "val", confusion matrix)
    note: str | None = None

    @classmethod
    def of(cls, run_metrics: Metrics) -> "ComparedRun":
        held_out = run_metrics.held_out
        return cls(run_metrics.test, None if held_out is None else (held_out[0], held_out[1].confusion_matrix))


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def target_rows(targets: list[dict]) -> list[str]:
    lines = ["| target | measured | goal | met |", "|---|---|---|---|"]
    for row in targets:
        show = pct if row["unit"] == "fraction" else (lambda x: f"{x:.2f}")
        value, goal = show(row["value"]), f"{row['op']} {show(row['threshold'])}"
        lines.append(f"| {row['target']} | {value} | {goal} | {'yes' if row['met'] else '**no**'} |")
    return lines


def per_class_rows(test: SplitFigures, names: list[str], aucs: dict) -> list[str]:
    lines = ["| class | precision | recall | ROC AUC | test photos |", "|---|---|---|---|---|"]
    for name in names:
        c = test.per_class[name]
        lines.append(f"| {name} | {pct(c.precision)} | {pct(c.recall)} | {aucs.get(name, 0):.5f} | {c.support} |")
    return lines


def confusion_rows(matrix: list[list[int]], names: list[str]) -> list[str]:
    """Rows: true class, columns: predicted class."""
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    return lines + [f"| **{name}** | " + " | ".join(str(v) for v in row) + " |" for name, row in zip(names, matrix)]


def kinds_on_test_rows(by_kind: KindFigures) -> list[str]:
    counts = by_kind.other_count_by_kind
    return ["| kind (test split) | photos | 'other' recall |", "|---|---|---|",
            *[f"| {kind} | {counts[kind]} | {pct(recall)} |" for kind, recall in by_kind.other_recall_by_kind.items()]]


def held_out_kinds_rows(comparison: dict[str, KindFigures]) -> list[str]:
    """One column per way of answering, one row per held-out kind of "other", then the pets."""
    recipes = list(comparison)
    first = comparison[recipes[0]]
    counts = first.other_count_by_kind
    lines = ["| held out | photos | " + " | ".join(recipes) + " |", "|---|---|" + "---|" * len(recipes)]
    for kind in first.other_recall_by_kind:
        lines.append(f"| {kind} | {counts[kind]:,} | " + " | ".join(
            pct(comparison[r].other_recall_by_kind[kind]) for r in recipes) + " |")
    for name, photos, show in _held_out_summary(first, sum(counts.values())):
        lines.append(f"| {name} | {photos} | " + " | ".join(show(comparison[r]) for r in recipes) + " |")
    return lines


def _held_out_summary(first: KindFigures, other_count: int) -> tuple:
    """The rows under the kinds: name, photos, and how to show a way of answering's figure."""
    return (("**all kinds ('other' recall)**", f"{other_count:,}", lambda f: pct(f.other_recall)),
            ("mean of kinds", "", lambda f: pct(f.other_recall_mean_of_kinds)),
            ("worst kind", "", lambda f: pct(f.other_recall_worst_kind)),
            ("cats and dogs called 'other'", f"{first.pets:,}", lambda f: pct(f.pets_called_other)),
            ("pet mistakes (wrong pet or 'other')", "", lambda f: str(f.pet_mistakes)),
            ("log loss", "", lambda f: "n/a" if f.log_loss is None else f"{f.log_loss:.4f}"))


def tuned_against_frozen_rows(paired: dict[str, PairedFigures]) -> list[str]:
    """The tuned top against the frozen backbone, photo by photo on the same held-out photos."""
    lines = ["| photos | held out | right only when tuned | right only when frozen | McNemar p |",
             "|---|---|---|---|---|"]
    for name, figures in paired.items():
        lines.append(f"| {name} | {figures.photos:,} | {figures.only_tuned_right} | "
                     f"{figures.only_frozen_right} | {figures.mcnemar_p:.3g} |")
    return lines


def held_out_mistakes(run: ComparedRun) -> str:
    """Pet mistakes on the held-out photos the run was chosen by."""
    if run.held_out_matrix is None:
        return ""
    key, matrix = run.held_out_matrix
    where = "cross-validation" if key == "cv" else key
    return f"{metrics.pet_mistakes(matrix)} of {metrics.pet_count(matrix):,} ({where})"


def comparison_rows(runs: dict[str, ComparedRun]) -> list[str]:
    """Test figures of each run, and its held-out pet mistakes: the figure runs are chosen by."""
    lines = ["| model | held out: pet mistakes | cat-vs-dog accuracy (a pet called 'other' is wrong) | "
             "forced choice: cat or dog | 'other' recall | pets called 'other' | accuracy (3 classes) | ECE |",
             "|---|---|---|---|---|---|---|---|"]
    for label, run in runs.items():
        t = run.test
        lines.append(f"| {label} | {held_out_mistakes(run)} | {pct(t.cat_vs_dog_accuracy)} | "
                     f"{pct(t.forced_choice_accuracy)} | {pct(t.other_recall)} | {pct(t.pets_called_other)} | "
                     f"{pct(t.accuracy)} | {pct(t.ece)} |")
    return lines
