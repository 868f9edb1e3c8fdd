"""The report's figures: confusion matrix, ROC curves, reliability diagram, learning curves.

Each is written to the path given, under the names the model card links to.
"""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from training import metrics  # noqa: E402

FOLDER = "report"  # beside the model card
CONFUSION, ROC, RELIABILITY, LEARNING_CURVES = "confusion.png", "roc.png", "reliability.png", "learning-curves.png"
# the run's learning curves: title, file in the run folder
HISTORIES = (("head, cross-validation fold 0", "history-head-fold0.csv"),
             ("head on frozen features", "history-head.csv"),
             ("fine-tuning / training", "history.csv"))


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(matrix: np.ndarray, names: list[str], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", color="black" if count < matrix.max() / 2 else "white")
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (test)")
    _save(fig, path)


def plot_roc(probabilities: np.ndarray, labels: np.ndarray, names: list[str], path: Path) -> dict:
    """One class against the rest, for each class; returns the area under each curve, by class name."""
    fig, ax = plt.subplots(figsize=(4, 4))
    areas = {}
    for c, name in enumerate(names):
        fpr, tpr, auc = metrics.roc_curve(probabilities[:, c], labels == c)
        areas[name] = auc
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.4f})")
    ax.plot([0, 1], [0, 1], "k:", linewidth=0.8)
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC, one class against the rest")
    ax.legend(loc="lower right", fontsize=8)
    _save(fig, path)
    return areas


def plot_reliability(probabilities: np.ndarray, labels: np.ndarray, path: Path) -> float:
    """Confidence against accuracy of the top class; returns the expected calibration error."""
    table = metrics.reliability(probabilities, labels)
    fig, ax = plt.subplots(figsize=(4, 4))
    confidence = [b["confidence"] for b in table["bins"]]
    accuracy = [b["accuracy"] for b in table["bins"]]
    ax.plot([0, 1], [0, 1], "k:", linewidth=0.8, label="perfect calibration")
    ax.plot(confidence, accuracy, "o-", label=f"model (ECE {table['ece']:.4f})")
    ax.set_xlabel("confidence of the top class")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability (test)")
    ax.legend(loc="upper left", fontsize=8)
    _save(fig, path)
    return table["ece"]


def read_history(path: Path) -> dict[str, list[float]]:
    """A Keras CSVLogger file as {column: values}; {} when there is none."""
    if not path.exists():
        return {}
    with open(path) as f:
        rows = list(csv.DictReader(f))
    # "NA": a column Keras had no value for, e.g. validation when the head was fitted on train + val
    return {key: [float("nan") if r[key] == "NA" else float(r[key]) for r in rows] for key in (rows[0] if rows else {})}


def plot_learning_curves(run_dir: Path, path: Path) -> bool:
    """Accuracy by epoch of each stage the run logged, side by side; False when it logged none."""
    stages = [(name, read_history(run_dir / file)) for name, file in HISTORIES]
    stages = [(name, history) for name, history in stages if history.get("accuracy")]
    if not stages:
        return False
    fig, axes = plt.subplots(1, len(stages), figsize=(4.2 * len(stages), 3.4), squeeze=False)
    for ax, (name, history) in zip(axes[0], stages):
        _plot_stage(ax, name, history)
    _save(fig, path)
    return True


def _plot_stage(ax, name: str, history: dict[str, list[float]]) -> None:
    epochs = np.arange(1, len(history["accuracy"]) + 1)
    ax.plot(epochs, history["accuracy"], "o-", label="train")
    if np.isfinite(history.get("val_accuracy", [np.nan])).any():
        ax.plot(epochs, history["val_accuracy"], "o-", label="held out")
    ax.set_title(name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8)
