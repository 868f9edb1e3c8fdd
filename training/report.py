"""Evaluation report of a finished run: figures, targets and the model card.

    python -m training.report --run_dir var/runs/lite0 --baseline_dir var/runs/simple-cnn --output app/model

Reads the run's contract.json, predictions-test.npz, predictions-held-out.npz
and learning curves, then writes into --output: MODEL_CARD.md, metrics.json
(headline figures and the targets, met or not) and report/*.png (confusion
matrix, ROC curves, reliability diagram, learning curves, misclassified
photos, the worst mistakes on kinds held out of training). Prints the targets
table.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import cv2  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from app.inference.contract import Contract  # noqa: E402
from training import metrics  # noqa: E402

# name, metric key, comparison, threshold (issue 13's: cat-vs-dog counts a pet called "other" as a mistake)
TARGETS = (
    ("cat-vs-dog accuracy (test)", "cat_vs_dog_accuracy", ">=", 0.99),
    ("'other' recall (test)", "other_recall", ">=", 0.98),
    ("cats and dogs called 'other'", "pets_called_other", "<=", 0.005),
    ("expected calibration error", "ece", "<=", 0.02),
)
MAX_ONNX_MB = 25.0
# "other" must hold for kinds of things the model never trained on: judged on the
# held-out kinds of cross-validation. Name, kind (None: all held-out kinds), goal.
KIND_TARGETS = (
    ("'other' recall, people held out", "person", 0.97),
    ("'other' recall, clothing held out", "clothing", 0.97),
    ("'other' recall, scenes held out", "scene", 0.97),
    ("'other' recall, all held-out kinds", None, 0.90),
)
SHIPPED_RECIPE = "head fused with ImageNet"


def load_run(run_dir: Path) -> tuple[Contract, dict]:
    contract = Contract.read_json(run_dir / "contract.json")
    predictions = dict(np.load(run_dir / "predictions-test.npz"))
    return contract, predictions


def evaluate_onnx(onnx_path: Path, predictions: dict) -> tuple[dict, str]:
    """Run the served ONNX model on the run's test photos, from the files, as the app would.

    Returns the predictions dict with the model's probabilities, and a label
    for the card; this is what makes the card describe the shipped file
    (possibly int8-quantized), not the Keras model it came from.
    """
    from app.inference.model import Classifier
    from app.inference.preprocess import preprocess

    served = Classifier(onnx_path, threads=2)
    probabilities = []
    paths = list(predictions["paths"])
    for start in range(0, len(paths), 32):
        batch = np.stack([preprocess(Path(p).read_bytes(), served.input_size) for p in paths[start:start + 32]])
        probabilities += [[p.scores[c] for c in served.class_names] for p in served.predict(batch)]
    quantized = (served.contract.onnx or {}).get("quantization")
    return {**predictions, "probabilities": np.array(probabilities)}, f"{onnx_path.name}" + (
        f" ({quantized})" if quantized else " (float32)")


def check_targets(test: dict, onnx_mb: float | None) -> list[dict]:
    """One row per target: the measured value, the goal (as text and as numbers) and whether it is met."""
    rows = [_target_row(name, test[key], op, threshold, "fraction") for name, key, op, threshold in TARGETS]
    if onnx_mb is not None:
        rows.append(_target_row("ONNX file size (MB)", onnx_mb, "<=", MAX_ONNX_MB, "MB"))
    return rows


def check_kind_targets(held_out: dict) -> list[dict]:
    """The "neither" targets on held-out kinds, and pets called "other" on held-out pets."""
    recall = {**held_out["other_recall_by_kind"], None: held_out["other_recall"]}
    rows = [_target_row(name, recall[kind], ">=", goal, "fraction")
            for name, kind, goal in KIND_TARGETS if recall.get(kind) is not None]
    rows.append(_target_row("cats and dogs called 'other' (held out)", held_out["pets_called_other"], "<=",
                            0.005, "fraction"))
    return rows


def _target_row(name: str, value: float, op: str, threshold: float, unit: str) -> dict:
    met = value >= threshold if op == ">=" else value <= threshold
    return {"target": name, "value": value, "goal": f"{op} {threshold:g}", "op": op, "threshold": threshold,
            "unit": unit, "met": bool(met)}


# --- figures -------------------------------------------------------------------

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


def _read_history(path: Path) -> dict[str, list[float]]:
    if not path.exists():
        return {}
    with open(path) as f:
        rows = list(csv.DictReader(f))
    # "NA": a column Keras had no value for, e.g. validation when the head was fitted on train + val
    return {key: [float("nan") if r[key] == "NA" else float(r[key]) for r in rows] for key in (rows[0] if rows else {})}


def plot_learning_curves(run_dir: Path, path: Path) -> bool:
    stages = [(name, _read_history(run_dir / f)) for name, f in
              (("head, cross-validation fold 0", "history-head-fold0.csv"), ("head on frozen features", "history-head.csv"),
               ("fine-tuning / training", "history.csv"))]
    stages = [(n, h) for n, h in stages if h.get("accuracy")]
    if not stages:
        return False
    fig, axes = plt.subplots(1, len(stages), figsize=(4.2 * len(stages), 3.4), squeeze=False)
    for ax, (name, history) in zip(axes[0], stages):
        epochs = np.arange(1, len(history["accuracy"]) + 1)
        ax.plot(epochs, history["accuracy"], "o-", label="train")
        if np.isfinite(history.get("val_accuracy", [np.nan])).any():
            ax.plot(epochs, history["val_accuracy"], "o-", label="held out")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
        ax.legend(fontsize=8)
    _save(fig, path)
    return True


def contact_sheet(predictions: dict, names: list[str], path: Path, tile: int = 128, columns: int = 8,
                  limit: int = 48, among: np.ndarray | None = None) -> int:
    """The misclassified photos (among those `among` marks, if given), worst first, captioned
    'true>predicted confidence'. Returns how many were misclassified in all."""
    probabilities, labels, paths = predictions["probabilities"], predictions["labels"], predictions["paths"]
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero((predicted != labels) & (among if among is not None else True))
    count = len(wrong)
    wrong = wrong[np.argsort(-probabilities[wrong].max(axis=1))][:limit]
    if len(wrong) == 0:
        return 0
    rows = int(np.ceil(len(wrong) / columns))
    sheet = np.full((rows * (tile + 18), columns * tile, 3), 255, np.uint8)
    for k, i in enumerate(wrong):
        image = cv2.imread(str(paths[i]), cv2.IMREAD_COLOR)
        if image is None:
            continue
        y, x = (k // columns) * (tile + 18), (k % columns) * tile
        sheet[y:y + tile, x:x + tile] = cv2.resize(image, (tile, tile), interpolation=cv2.INTER_AREA)
        caption = f"{names[labels[i]]}>{names[predicted[i]]} {probabilities[i].max():.2f}"
        cv2.putText(sheet, caption, (x + 2, y + tile + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), sheet)
    return count


# --- the model card -------------------------------------------------------------

def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def target_rows(targets: list[dict]) -> list[str]:
    lines = ["| target | measured | goal | met |", "|---|---|---|---|"]
    for row in targets:
        show = _pct if row["unit"] == "fraction" else (lambda x: f"{x:.2f}")
        value, goal = show(row["value"]), f"{row['op']} {show(row['threshold'])}"
        lines.append(f"| {row['target']} | {value} | {goal} | {'yes' if row['met'] else '**no**'} |")
    return lines


def held_out_mistakes(run_metrics: dict) -> str:
    """Pet mistakes on the held-out photos a run was chosen by: the val split, or the
    out-of-fold predictions of cross-validation over train + val."""
    for key, where in (("cv", "cross-validation"), ("val", "val")):
        if key in run_metrics:
            matrix = run_metrics[key]["confusion_matrix"]
            return f"{metrics.pet_mistakes(matrix)} of {metrics.pet_count(matrix):,} ({where})"
    return ""


def comparison_rows(runs: dict[str, dict]) -> list[str]:
    """Test figures of each run ({"metrics": ..., "note": ...}), and its held-out pet mistakes:
    the figure runs are chosen by."""
    lines = ["| model | held out: pet mistakes | cat-vs-dog accuracy | 'other' recall | pets called 'other' | "
             "accuracy (3 classes) | ECE |", "|---|---|---|---|---|---|---|"]
    for label, run in runs.items():
        t = run["metrics"]["test"]
        lines.append(f"| {label} | {held_out_mistakes(run['metrics'])} | {_pct(t['cat_vs_dog_accuracy'])} | "
                     f"{_pct(t['other_recall'])} | {_pct(t['pets_called_other'])} | {_pct(t['accuracy'])} | "
                     f"{_pct(t['ece'])} |")
    return lines


def held_out_kinds_rows(comparison: dict[str, dict]) -> list[str]:
    """One column per way of answering, one row per held-out kind of "other", then the pets."""
    recipes = list(comparison)
    kinds = list(next(iter(comparison.values()))["other_recall_by_kind"])
    counts = next(iter(comparison.values()))["other_count_by_kind"]
    lines = ["| held out | photos | " + " | ".join(recipes) + " |", "|---|---|" + "---|" * len(recipes)]
    for kind in kinds:
        lines.append(f"| {kind} | {counts[kind]:,} | " + " | ".join(
            _pct(comparison[r]["other_recall_by_kind"][kind]) for r in recipes) + " |")
    first = comparison[recipes[0]]
    other_count = sum(counts.values())
    rows = (("**all kinds ('other' recall)**", f"{other_count:,}", lambda f: _pct(f["other_recall"])),
            ("mean of kinds", "", lambda f: _pct(f["other_recall_mean_of_kinds"])),
            ("worst kind", "", lambda f: _pct(f["other_recall_worst_kind"])),
            ("cats and dogs called 'other'", f"{first['pets']:,}", lambda f: _pct(f["pets_called_other"])),
            ("pet mistakes (wrong pet or 'other')", "", lambda f: str(f["pet_mistakes"])),
            ("log loss", "", lambda f: f"{f['log_loss']:.4f}" if "log_loss" in f else "n/a"))
    for name, photos, show in rows:
        lines.append(f"| {name} | {photos} | " + " | ".join(show(comparison[r]) for r in recipes) + " |")
    return lines


def tuned_against_frozen_lines(paired: dict | None) -> list[str]:
    """The tuned top against the frozen backbone, photo by photo on the same held-out photos."""
    if not paired:
        return []
    lines = ["The top of the backbone tuned against the frozen backbone (each fused with ImageNet the same "
             "nested way), photo by photo on the same held-out photos:", "",
             "| photos | held out | right only when tuned | right only when frozen | McNemar p |", "|---|---|---|---|---|"]
    for name, figures in paired.items():
        lines.append(f"| {name} | {figures['photos']:,} | {figures['only_tuned_right']} | "
                     f"{figures['only_frozen_right']} | {figures['mcnemar_p']:.3g} |")
    return lines + [""]


def kinds_on_test_rows(by_kind: dict) -> list[str]:
    counts = by_kind["other_count_by_kind"]
    return ["| kind (test split) | photos | 'other' recall |", "|---|---|---|",
            *[f"| {kind} | {counts[kind]} | {_pct(recall)} |" for kind, recall in by_kind["other_recall_by_kind"].items()]]


def _described(folders: list[str], contract: Contract) -> str:
    """Data folders with the description the run recorded for each (its README's title)."""
    sources = contract.training_data.get("sources", {})
    return ", ".join(f"{folder} ({sources[folder]})" if folder in sources else folder for folder in folders)


def _other_kinds(contract: Contract) -> list[str]:
    """The kinds of "other" the run trained on, from its per-kind figures."""
    figures = next(iter(contract.metrics.get("held_out_kinds", {}).values()), None) or \
        contract.metrics.get("test_by_kind") or {}
    return list(figures.get("other_recall_by_kind", {}))


def model_card(contract: Contract, evaluated: str, targets: list[dict], runs: dict[str, dict], aucs: dict,
               errors: int, has_curves: bool, held_out_errors: tuple[int, int] = (0, 0)) -> str:
    test = contract.metrics["test"]
    names = contract.class_names
    matrix = test["confusion_matrix"]
    counts = contract.training_data["counts"]
    kinds = _other_kinds(contract)
    lines = [
        f"# Model card: {contract.name} (version {contract.version})",
        "",
        f"A convolutional network ({contract.architecture}) that says whether a photo shows a **cat**, a "
        "**dog**, or **neither** (\"other\"), with a calibrated confidence and a class activation map.",
        "",
        f"- Created {contract.created} by `python -m training.train` "
        f"(config below), converted by `python -m convert.to_onnx`.",
        f"- Input: `{contract.input.name}`, {contract.input.size}x{contract.input.size} RGB, "
        f"{contract.input.dtype} {contract.input.range}, {contract.input.layout}.",
        f"- Preprocessing (shared by training and serving, `app/inference/preprocess.py`): "
        f"{contract.preprocessing}.",
        f"- Outputs: calibrated probabilities (temperature {contract.temperature:.3f}, fitted on "
        f"{contract.calibrated_on}) and the class activation map of the last "
        "convolution.",
        "",
        "## Test results",
        "",
        f"Test split: {test['count']} photos never used for training or tuning "
        f"({counts['test']}), classified by {evaluated} from the image files, through the "
        "same preprocessing as the app.",
        "",
        *target_rows(targets),
    ]
    lines += ["", "Per class:", "", "| class | precision | recall | ROC AUC | test photos |", "|---|---|---|---|---|"]
    for name in names:
        c = test["per_class"][name]
        lines.append(f"| {name} | {_pct(c['precision'])} | {_pct(c['recall'])} | {aucs.get(name, 0):.5f} | "
                     f"{c['support']} |")
    lines += ["", "Confusion matrix (rows: true, columns: predicted):", "",
              "| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for name, row in zip(names, matrix):
        lines.append(f"| **{name}** | " + " | ".join(str(v) for v in row) + " |")
    if "test_by_kind" in contract.metrics:
        lines += ["", "'Other' on the test split, by kind (every kind here was also in training):", "",
                  *kinds_on_test_rows(contract.metrics["test_by_kind"])]
    comparison = contract.metrics.get("held_out_kinds")
    if comparison:
        folds = contract.config["head_folds"]
        where = (f"Cross-validation can: in each of its {folds} folds, whole kinds of 'other' are held out "
                 "(every photo of people, say) along with a share of the pets, and the head that scores them "
                 "never saw one." if folds else
                 "Without cross-validation only the val split is held out, and its kinds were in training too.")
        lines += ["", "## 'Neither' on kinds of things never trained on", "",
                  "The test split shares its kinds with training, so it cannot say how the model meets things "
                  f"it has never seen. {where} The fusion with ImageNet is judged on the same photos, fitted "
                  "without the fold it scores. Each column is one way of answering:", "",
                  *held_out_kinds_rows(comparison), "",
                  "The rule, set before the figures were seen: ship the way with the highest 'other' recall "
                  "over all held-out kinds, provided it calls at most 0.5% of held-out pets 'other'.", ""]
        lines += tuned_against_frozen_lines(contract.metrics.get("tuned_against_frozen"))
        others_wrong, pets_rejected = held_out_errors
        if others_wrong:
            lines += [f"The worst of the {others_wrong} held-out 'other' photos called cat or dog by the shipped "
                      "way of answering, most confident first:", "",
                      "![held-out 'other' mistakes](report/held-out-other-mistakes.jpg)", ""]
        if pets_rejected:
            lines += [f"The {pets_rejected} held-out cats and dogs it called 'other':", "",
                      "![held-out pets called other](report/held-out-pets-called-other.jpg)", ""]
    lines += ["", "## Compared with the original design", "", *comparison_rows(runs), "",
              "`simple-cnn` is the original project's design (convolution and max-pooling blocks, a dense "
              "layer, dropout, trained from scratch with rotation / zoom / flip augmentation); the "
              "original reached 81% validation accuracy on cats vs dogs. Rows marked \"earlier run\" were "
              "measured the same way on the same test split by runs whose directories are gone; "
              "`earlier-runs.json` beside this card keeps their figures and the commands that made them.", "",
              *[f"- {label}: {run['note']}" for label, run in runs.items() if run.get("note")], "",
              "## Figures", "",
              "![confusion matrix](report/confusion.png) ![ROC](report/roc.png) "
              "![reliability](report/reliability.png)", ""]
    if has_curves:
        lines += ["![learning curves](report/learning-curves.png)", ""]
    if errors:
        lines += [f"Misclassified test photos ({errors} in all; the most confident mistakes first):", "",
                  "![misclassified](report/misclassified.jpg)", ""]
    lines += [
        "## Training data",
        "",
        f"- Cats and dogs: {_described(contract.training_data['pets'], contract)}.",
        f"- Other: {_described(contract.training_data['others'], contract)}; kinds: {', '.join(kinds) or 'not recorded'}.",
        f"- Split: {contract.training_data['split']}; counts {json.dumps(counts)}; "
        f"{contract.training_data['skipped_files']} unreadable files skipped.",
        "",
        "## Limits",
        "",
        f"- \"Other\" was learnt from {len(kinds)} kinds of things"
        + (", and is backed by the ImageNet classifier's view of 1,000 kinds." if contract.imagenet_fusion else ".")
        + " Animals that look like cats or dogs (foxes, raccoons, big cats) were never shown as "
        "negatives; ImageNet tells many of them apart, not all.",
        "- Pets were measured on Kaggle's collection only; pets photographed elsewhere may fare worse.",
        "- The training photos are squashed to a square; very wide or tall photos are squashed the same way.",
        "- Cartoons, drawings and photos with both a cat and a dog are outside what was measured.",
        "",
        "## How it was trained",
        "",
        f"Wall time per stage ({contract.machine or 'machine not recorded'}): {json.dumps(contract.stage_seconds)}.",
        "",
        "```json",
        json.dumps(contract.config, indent=1),
        "```",
    ]
    return "\n".join(lines) + "\n"


def earlier_runs(path: Path) -> dict[str, dict]:
    """Runs measured by this same report in earlier sessions, as {"metrics": ..., "note": ...}."""
    if not path.exists():
        return {}
    return {f"{label} (earlier run)": {"metrics": {k: run[k] for k in ("test", "val", "cv") if k in run},
                                      "note": run.get("note")}
            for label, run in json.loads(path.read_text()).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run_dir", default="var/runs/lite0")
    parser.add_argument("--baseline_dir", nargs="*", default=["var/runs/simple-cnn"],
                        help="other runs to list in the comparison table")
    parser.add_argument("--earlier", default="app/model/earlier-runs.json",
                        help="test figures of runs whose directories are gone, kept for the comparison table")
    parser.add_argument("--output", default="app/model")
    parser.add_argument("--onnx", default="app/model/catsdogs.onnx")
    args = parser.parse_args(argv)

    run_dir, output, onnx_path = Path(args.run_dir), Path(args.output), Path(args.onnx)
    (output / "report").mkdir(parents=True, exist_ok=True)
    contract, predictions = load_run(run_dir)
    evaluated = "the Keras model of the run"
    if onnx_path.exists():
        predictions, evaluated = evaluate_onnx(onnx_path, predictions)
    names = contract.class_names
    probabilities, labels = predictions["probabilities"], predictions["labels"]
    contract.metrics["test"] = metrics.summarise(probabilities, labels, tuple(names))

    plot_confusion(np.array(contract.metrics["test"]["confusion_matrix"]), names, output / "report" / "confusion.png")
    aucs = plot_roc(probabilities, labels, names, output / "report" / "roc.png")
    plot_reliability(probabilities, labels, output / "report" / "reliability.png")
    has_curves = plot_learning_curves(run_dir, output / "report" / "learning-curves.png")
    errors = contact_sheet(predictions, names, output / "report" / "misclassified.jpg")
    if "kinds" in predictions:
        contract.metrics["test_by_kind"] = metrics.by_kind(probabilities.argmax(axis=1), labels,
                                                              predictions["kinds"])
    held_out_errors = (0, 0)
    if (run_dir / "predictions-held-out.npz").exists():
        held_out = dict(np.load(run_dir / "predictions-held-out.npz"))
        other = names.index("other")
        held_out_errors = (
            contact_sheet(held_out, names, output / "report" / "held-out-other-mistakes.jpg",
                          among=held_out["labels"] == other),
            contact_sheet(held_out, names, output / "report" / "held-out-pets-called-other.jpg",
                          among=(held_out["labels"] != other) & (held_out["probabilities"].argmax(axis=1) == other)))

    onnx_mb = onnx_path.stat().st_size / 1e6 if onnx_path.exists() else None
    targets = check_targets(contract.metrics["test"], onnx_mb)
    comparison = contract.metrics.get("held_out_kinds", {})
    if SHIPPED_RECIPE in comparison:
        targets += check_kind_targets(comparison[SHIPPED_RECIPE])
    runs = {contract.architecture + " (shipped)": {"metrics": contract.metrics}}
    for extra in args.baseline_dir:
        if (Path(extra) / "contract.json").exists():
            other = Contract.read_json(Path(extra) / "contract.json")
            runs[f"{other.architecture} ({Path(extra).name})"] = {"metrics": other.metrics}
    runs.update(earlier_runs(Path(args.earlier)))
    (output / "MODEL_CARD.md").write_text(model_card(contract, evaluated, targets, runs, aucs, errors, has_curves,
                                                     held_out_errors))
    (output / "metrics.json").write_text(json.dumps(
        {"model": contract.name, "version": contract.version, "evaluated": evaluated,
         "test": contract.metrics["test"], "test_by_kind": contract.metrics.get("test_by_kind"),
         "held_out_kinds": comparison,
         "roc_auc": aucs, "targets": targets,
         "compared": {k: v["metrics"]["test"] for k, v in runs.items()}}, indent=2))

    for row in targets:
        print(f"{'PASS' if row['met'] else 'MISS'}  {row['target']:<32} {row['value']:.4f}  (goal {row['goal']})")
    print(f"wrote {output / 'MODEL_CARD.md'} and {output / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
