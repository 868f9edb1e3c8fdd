"""A tiny real run: a few dozen photos, one epoch, small input (the session fixture
in tests/conftest.py).

Slow-ish (about a minute on 2 cores) but it is the only proof that training
writes the contract that conversion and serving read.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.conftest import tiny_run
from training.run_files import RunFiles

pytestmark = pytest.mark.slow


def test_the_run_writes_its_contract(lite0_run):
    tmp_path, contract = lite0_run
    run = tmp_path / "run"
    files = RunFiles(run)  # every file that report, convert and the benchmarks read back
    for path in (files.model, files.contract, files.log, files.test_predictions, files.held_out_predictions,
                 files.data, run / "history.csv"):
        assert path.exists(), path.name
    saved = json.loads(files.contract.read_text())
    assert saved["class_names"] == ["cat", "dog", "other"]
    assert saved["input"] == {"name": "image", "size": 64, "layout": "NHWC", "dtype": "float32", "range": "0..255 RGB"}
    assert saved["temperature"] > 0
    assert set(saved["stage_seconds"]) == {"data", "head", "tune", "fit", "calibrate", "evaluate"}
    test = saved["metrics"]["test"]
    assert test["count"] == sum(sum(row) for row in test["confusion_matrix"])
    assert str(tmp_path) not in json.dumps(saved)  # no path of the machine that trained it
    assert saved["training_data"]["pets"] == ["dogs-vs-cats/train"]
    assert saved["training_data"]["sources"]["dogs-vs-cats/train"].startswith("Dogs vs. Cats")  # its README's title
    assert saved["machine"].split(",")[0].endswith("CPUs")
    fusion = saved["imagenet_fusion"]
    assert np.array(fusion["kernel"]).shape == (6, 3) and len(fusion["bias"]) == 3
    assert fusion["imagenet_class_names"][281] == "tabby cat"
    compared = saved["metrics"]["held_out_kinds"]
    assert set(compared) == {"head alone", "head, 'other' when ImageNet says neither cat nor dog",
                             "head fused with ImageNet"}
    assert compared["head alone"]["pets"] == sum(saved["training_data"]["counts"]["val"][c] for c in ("cat", "dog"))


def test_resuming_reuses_finished_stages(lite0_run, tmp_path):
    finished, first = lite0_run
    shutil.copytree(finished / "run", tmp_path / "run")  # rerun on a copy: the shared run stays as it was
    shutil.copytree(finished / "cache", tmp_path / "cache")
    second = tiny_run(tmp_path, "efficientnet-lite0")
    assert "head: reusing" in (tmp_path / "run" / "train.log").read_text()
    assert second.stage_seconds["head"] < first.stage_seconds["head"] + 1


def test_a_cross_validated_head_is_scored_and_calibrated_out_of_fold(tmp_path):
    contract = tiny_run(tmp_path, "efficientnet-lite0", "--finetune_epochs=0", "--head_folds=3",
                        "--head_augmented_copies=1")
    counts = contract.training_data.counts
    held_out = contract.metrics.cv
    assert contract.metrics.val is None  # val is training data here, so no val figures
    assert held_out.count == sum(counts["train"].values()) + sum(counts["val"].values())
    assert contract.calibrated_on.startswith("out-of-fold logits of 3-fold cross-validation")
    assert (tmp_path / "run" / "head-out-of-fold.npz").exists()
    log = (tmp_path / "run" / "train.log").read_text()
    assert "fold 2:" in log and "features train_augmented1:" in log
    pets = contract.metrics.tuned_against_frozen["pets"]  # the tuned top against the frozen head, photo by photo
    assert pets.photos == sum(counts[split][c] for split in ("train", "val") for c in ("cat", "dog"))
    assert pets.tuned_right - pets.only_tuned_right == pets.frozen_right - pets.only_frozen_right  # right with both
    assert 0 <= pets.mcnemar_p <= 1


def test_the_report_writes_figures_and_a_model_card(lite0_run, lite0_onnx, tmp_path):
    from training.report import main as report_main

    run_dir, _ = lite0_run
    earlier = tmp_path / "earlier-runs.json"
    earlier.write_text(json.dumps({"old recipe": {"command": "python -m training.train", "test": {
        "count": 20, "cat_vs_dog_accuracy": 0.5, "other_recall": 0.25, "pets_called_other": 0.125, "accuracy": 0.5,
        "ece": 0.0625, "confusion_matrix": [[4, 2, 2], [2, 4, 2], [1, 2, 1]]},
        "val": {"confusion_matrix": [[5, 1, 0], [2, 6, 1], [0, 3, 4]]},
        "note": "not shipped: worse on validation"}}))
    assert report_main([f"--run_dir={run_dir / 'run'}", f"--output={tmp_path}", "--baseline_dir",
                        f"--onnx={lite0_onnx}", f"--earlier={earlier}"]) == 0
    for figure in ("confusion.png", "roc.png", "reliability.png", "learning-curves.png"):
        assert (tmp_path / "report" / figure).stat().st_size > 1000, figure
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert "| cat-vs-dog accuracy (test) |" in card and "Confusion matrix" in card
    assert "classified by model.onnx (float32) from the image files" in card
    assert "| old recipe (earlier run) | 4 of 15 (val) | 50.00% | n/a | 25.00% | 12.50% | 50.00% | 6.25% |" in card
    assert "- old recipe (earlier run): not shipped: worse on validation" in card
    assert "| >= 99.00% |" in card  # the goal shown as a percentage
    targets = json.loads((tmp_path / "metrics.json").read_text())["targets"]
    assert [t["target"] for t in targets][:2] == ["cat-vs-dog accuracy (test)", "'other' recall (test)"]
