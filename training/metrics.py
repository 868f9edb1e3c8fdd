"""Calibration and evaluation figures, in plain numpy (no TensorFlow)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.inference.decision import OTHER, decide
from app.inference.measured import ClassFigures, KindFigures, SplitFigures


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    p = softmax(logits, temperature)[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(p, 1e-12, 1.0)).mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature minimising validation NLL: a coarse log grid, then a fine one."""
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 200))
    best = min(grid, key=lambda t: negative_log_likelihood(logits, labels, t))
    fine = np.linspace(best * 0.95, best * 1.05, 101)
    return float(min(fine, key=lambda t: negative_log_likelihood(logits, labels, t)))


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> dict:
    """Per-bin confidence and accuracy of the top class, and the expected calibration error."""
    confidence = probabilities.max(axis=1)
    correct = decide(probabilities) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        conf, acc = float(confidence[mask].mean()), float(correct[mask].mean())
        ece += mask.mean() * abs(conf - acc)
        rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": int(mask.sum()),
                     "confidence": conf, "accuracy": acc})
    return {"ece": float(ece), "bins": rows}


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix  # rows: true class, columns: predicted class


def roc_curve(scores: np.ndarray, positives: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """False and true positive rates over all thresholds, and the area under the curve."""
    order = np.argsort(-scores, kind="stable")
    hits = positives[order].astype(np.float64)
    tpr = np.concatenate([[0.0], np.cumsum(hits) / max(hits.sum(), 1)])
    fpr = np.concatenate([[0.0], np.cumsum(1 - hits) / max((1 - hits).sum(), 1)])
    return fpr, tpr, float(np.trapezoid(tpr, fpr))


def _pet_classes(num_classes: int) -> list[int]:
    return [c for c in range(num_classes) if c != OTHER]


def pet_count(matrix: list[list[int]]) -> int:
    """Cats and dogs in a confusion matrix (its rows are the true classes)."""
    matrix = np.asarray(matrix)
    return int(matrix[_pet_classes(len(matrix))].sum())


def other_recall(matrix: list[list[int]]) -> float:
    """The share of "other" photos called "other" (0 when there are none)."""
    matrix = np.asarray(matrix)
    return float(matrix[OTHER, OTHER] / max(matrix[OTHER].sum(), 1))


def pet_mistakes(matrix: list[list[int]]) -> int:
    """Cats and dogs not given their own class (called the other pet or "other")."""
    matrix = np.asarray(matrix)
    pets = _pet_classes(len(matrix))
    return int(matrix[pets].sum() - matrix[pets, pets].sum())


def summarise(probabilities: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]) -> SplitFigures:
    """All headline figures for one set of photos."""
    predicted = decide(probabilities)
    matrix = confusion_matrix(labels, predicted, len(class_names))
    pets = labels != OTHER
    per_class = {name: ClassFigures(precision=float(matrix[c, c] / max(matrix[:, c].sum(), 1)),
                                    recall=float(matrix[c, c] / max(matrix[c, :].sum(), 1)),
                                    support=int(matrix[c, :].sum()))
                 for c, name in enumerate(class_names)}
    return SplitFigures(
        count=int(len(labels)),
        accuracy=float((predicted == labels).mean()),
        cat_vs_dog_accuracy=float((predicted[pets] == labels[pets]).mean()) if pets.any() else None,
        other_recall=per_class[class_names[OTHER]].recall if (~pets).any() else None,
        pets_called_other=float((predicted[pets] == OTHER).mean()) if pets.any() else None,
        ece=reliability(probabilities, labels)["ece"],
        per_class=per_class,
        confusion_matrix=matrix.tolist(),
        forced_choice_accuracy=forced_choice_accuracy(probabilities, labels),
    )


def forced_choice_accuracy(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Pets only, each given the likelier of cat and dog whatever "other" scores: the
    original two-class task."""
    pets = labels != OTHER
    if not pets.any():
        return None
    pet_classes = _pet_classes(scores.shape[1])
    chosen = np.asarray(pet_classes)[np.asarray(scores)[pets][:, pet_classes].argmax(axis=1)]
    return float((chosen == labels[pets]).mean())


def by_kind(predicted: np.ndarray, labels: np.ndarray, kinds: np.ndarray) -> KindFigures:
    """"Other" recall for each kind of "other" photo, and what happened to the pets."""
    other = labels == OTHER
    recall = {str(kind): float((predicted[kinds == kind] == OTHER).mean()) for kind in sorted(set(kinds[other]))}
    pets = ~other
    return KindFigures(
        other_recall_by_kind=recall,
        other_count_by_kind={kind: int((kinds == kind).sum()) for kind in recall},
        other_recall=float((predicted[other] == OTHER).mean()) if other.any() else None,
        other_recall_mean_of_kinds=float(np.mean(list(recall.values()))) if recall else None,
        other_recall_worst_kind=min(recall.values()) if recall else None,
        pets=int(pets.sum()),
        pets_called_other=float((predicted[pets] == OTHER).mean()) if pets.any() else None,
        pet_mistakes=int((predicted[pets] != labels[pets]).sum()),
        cat_vs_dog_accuracy=float((predicted[pets] == labels[pets]).mean()) if pets.any() else None,
    )


@dataclass(frozen=True)
class Paired:
    """Two models judged photo by photo on the same photos: how many each gets right, how many
    only it does, and the McNemar p of those disagreements."""
    photos: int
    first_right: int
    second_right: int
    only_first_right: int
    only_second_right: int

    @classmethod
    def of(cls, first_right: np.ndarray, second_right: np.ndarray, rows: np.ndarray | None = None) -> "Paired":
        """From two boolean arrays (right or not, per photo), over all photos or `rows` of them."""
        first_right, second_right = np.asarray(first_right, bool), np.asarray(second_right, bool)
        rows = np.ones(len(first_right), bool) if rows is None else np.asarray(rows, bool)
        return cls(int(rows.sum()), int((first_right & rows).sum()), int((second_right & rows).sum()),
                   int((first_right & ~second_right & rows).sum()), int((second_right & ~first_right & rows).sum()))

    @property
    def mcnemar_p(self) -> float:
        return mcnemar_p(self.only_first_right, self.only_second_right)

    def named(self, first: str, second: str) -> dict:
        """As JSON whose keys name the two models: ("tuned", "frozen") -> "only_tuned_right", ..."""
        return {"photos": self.photos, f"{first}_right": self.first_right, f"{second}_right": self.second_right,
                f"only_{first}_right": self.only_first_right, f"only_{second}_right": self.only_second_right,
                "mcnemar_p": self.mcnemar_p}

    @classmethod
    def from_named(cls, values: dict, first: str, second: str) -> "Paired":
        """Back from `named`'s JSON."""
        return cls(values["photos"], values[f"{first}_right"], values[f"{second}_right"],
                   values[f"only_{first}_right"], values[f"only_{second}_right"])

    def sentence(self, first: str, second: str) -> str:
        """One line for a console: "120 photos: first 118, second 117 right; only first 2, ..."."""
        return (f"{self.photos:>6} photos: {first} {self.first_right}, {second} {self.second_right} right; "
                f"only {first} {self.only_first_right}, only {second} {self.only_second_right} "
                f"(McNemar p = {self.mcnemar_p:.3g})")


def mcnemar_p(only_first_right: int, only_second_right: int) -> float:
    """Exact two-sided McNemar test: the chance of a split at least this lopsided of the photos
    on which two models disagree, were both equally accurate (each disagreement a coin toss)."""
    from math import comb

    n = only_first_right + only_second_right
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(only_first_right, only_second_right) + 1)) / 2 ** n
    return min(1.0, 2 * tail)
