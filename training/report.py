"""Evaluation report of a finished run: figures, targets and the model card.

    python -m training.report --run_dir var/runs/lite0 --baseline_dir var/runs/simple-cnn --output app/model

Reads the run's contract.json, predictions-test.npz, predictions-held-out.npz
and learning curves, then writes into --output: MODEL_CARD.md, metrics.json
(headline figures and the targets, met or not) and report/ (PNG figures of the
confusion matrix, ROC curves, reliability diagram and learning curves; JPEG
contact sheets of misclassified photos and of the worst mistakes on kinds held out of training). Prints the targets
table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from app.inference.contract import Contract
from app.inference.decision import decide
from app.inference.measured import HELD_OUT_KEYS, SplitFigures
from training import contact_sheets, figures, metrics
from training.card import Findings, model_card
from training.run_files import RunFiles
from training.scoring import evaluate_onnx, load_run
from training.tables import ComparedRun
from training.targets import shipped_targets


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run_dir", default="var/runs/lite0")
    parser.add_argument("--baseline_dir", nargs="*", default=["var/runs/simple-cnn"],
                        help="other runs to list in the comparison table")
    parser.add_argument("--earlier", default="app/model/earlier-runs.json",
                        help="test figures of runs whose directories are gone, kept for the comparison table")
    parser.add_argument("--output", default="app/model")
    parser.add_argument("--onnx", default="app/model/catsdogs.onnx")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_dir, output, onnx_path = Path(args.run_dir), Path(args.output), Path(args.onnx)
    (output / figures.FOLDER).mkdir(parents=True, exist_ok=True)
    contract, predictions = load_run(run_dir)
    evaluated = "the Keras model of the run"
    if onnx_path.exists():
        predictions, evaluated = evaluate_onnx(onnx_path, predictions)
    contract.metrics.test = metrics.summarise(predictions["probabilities"], predictions["labels"],
                                              tuple(contract.class_names))
    if "kinds" in predictions:
        contract.metrics.test_by_kind = metrics.by_kind(decide(predictions["probabilities"]),
                                                        predictions["labels"], predictions["kinds"])
    onnx_mb = onnx_path.stat().st_size / 1e6 if onnx_path.exists() else None
    findings = Findings(evaluated, shipped_targets(contract.metrics, onnx_mb),
                        compared_runs(contract, args.baseline_dir, Path(args.earlier)),
                        **draw(run_dir, output / figures.FOLDER, contract, predictions))
    (output / "MODEL_CARD.md").write_text(model_card(contract, findings))
    (output / "metrics.json").write_text(json.dumps(metrics_file(contract, findings), indent=2))
    print_targets(findings.targets)
    print(f"wrote {output / 'MODEL_CARD.md'} and {output / 'metrics.json'}")
    return 0


def draw(run_dir: Path, folder: Path, contract: Contract, predictions: dict) -> dict:
    """Every figure and contact sheet of the report into `folder`; what they found, for the card."""
    names = contract.class_names
    probabilities, labels = predictions["probabilities"], predictions["labels"]
    figures.plot_confusion(np.array(contract.metrics.test.confusion_matrix), names, folder / figures.CONFUSION)
    aucs = figures.plot_roc(probabilities, labels, names, folder / figures.ROC)
    figures.plot_reliability(probabilities, labels, folder / figures.RELIABILITY)
    has_curves = figures.plot_learning_curves(run_dir, folder / figures.LEARNING_CURVES)
    errors = contact_sheets.contact_sheet(predictions, names, folder / contact_sheets.MISCLASSIFIED)
    held_out_errors = (0, 0)
    held_out_path = RunFiles(run_dir).held_out_predictions
    if held_out_path.exists():
        held_out = dict(np.load(held_out_path))
        held_out_errors = contact_sheets.held_out_sheets(held_out, names, folder)
    return {"aucs": aucs, "errors": errors, "has_curves": has_curves, "held_out_errors": held_out_errors}


def compared_runs(contract: Contract, baseline_dirs: list[str], earlier: Path) -> dict[str, ComparedRun]:
    """The shipped run, the baselines that were trained, and the earlier runs, by label."""
    runs = {contract.architecture + " (shipped)": ComparedRun.of(contract.metrics)}
    for baseline in map(Path, baseline_dirs):
        contract_path = RunFiles(baseline).contract
        if contract_path.exists():
            other = Contract.read_json(contract_path)
            runs[f"{other.architecture} ({baseline.name})"] = ComparedRun.of(other.metrics)
    return {**runs, **earlier_runs(earlier)}


def earlier_runs(path: Path) -> dict[str, ComparedRun]:
    """Runs measured by this same report in earlier sessions: their test figures, the confusion
    matrix of the held-out photos they were chosen by, and a note."""
    if not path.exists():
        return {}
    runs = {}
    for label, run in json.loads(path.read_text()).items():
        held_out = next(((key, run[key]["confusion_matrix"]) for key in HELD_OUT_KEYS if run.get(key)), None)
        runs[f"{label} (earlier run)"] = ComparedRun(SplitFigures.from_dict(run["test"]), held_out, run.get("note"))
    return runs


def metrics_file(contract: Contract, findings: Findings) -> dict:
    """metrics.json: the headline figures, the targets and the runs compared."""
    measured = dataclasses.asdict(contract.metrics)
    return {"model": contract.name, "version": contract.version, "evaluated": findings.evaluated,
            "test": measured["test"], "test_by_kind": measured["test_by_kind"],
            "held_out_kinds": measured["held_out_kinds"],
            "roc_auc": findings.aucs, "targets": findings.targets,
            "compared": {label: dataclasses.asdict(run.test) for label, run in findings.runs.items()}}


def print_targets(targets: list[dict]) -> None:
    for row in targets:
        print(f"{'PASS' if row['met'] else 'MISS'}  {row['target']:<32} {row['value']:.4f}  (goal {row['goal']})")


if __name__ == "__main__":
    raise SystemExit(main())
