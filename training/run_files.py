"""Where a training run keeps the files that other steps read: one home for their names.

train.py writes them into the run's folder; the report, conversion, int8 calibration, the
benchmarks and training.compare_runs read them back. Files only one module uses (a stage's
weights or curves) are named in that module.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def _in_run(name: str, doc: str) -> property:
    return property(lambda files: files.folder / name, doc=doc)


@dataclass(frozen=True)
class RunFiles:
    folder: Path

    def __post_init__(self):
        object.__setattr__(self, "folder", Path(self.folder))

    contract = _in_run("contract.json", "The model's contract (app/inference/contract.py), with the run's metrics.")
    model = _in_run("model.keras", "The exported Keras model that convert/ turns into ONNX.")
    test_predictions = _in_run("predictions-test.npz",
                               "Calibrated answers on the test split: probabilities, labels, paths, kinds.")
    held_out_predictions = _in_run("predictions-held-out.npz",
                                   "Out-of-fold answers of the leave-kinds-out folds: "
                                   "probabilities, labels, kinds, paths, folds.")
    data = _in_run("data.json", "Where this run's decoded photos are on this machine (not published).")
    log = _in_run("train.log", "The run's log: configuration, stage times, figures.")
    head_out_of_fold = _in_run("head-out-of-fold.npz",
                               "The frozen backbone's head, out of fold (training/head.py's HeldOut), "
                               "with ImageNet's logits of the same photos.")
    top_out_of_fold = _in_run("top-out-of-fold.npz", "The tuned top's head, out of fold, the same way.")
