"""A tiny real run: a few dozen photos, one epoch, small input, through ONNX conversion.

Slow-ish (about a minute on 2 cores) but it is the only proof that training,
conversion and serving agree on one contract.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from app.inference.model import Classifier
from app.inference.preprocess import preprocess
from tests.conftest import OTHERS, PETS

pytestmark = pytest.mark.slow


def tiny_run(tmp_path, model: str, *options: str) -> dict:
    from training.train import main

    return main([
        f"--model={model}", "--limit_per_class=16", "--input_size=64", "--head_epochs=2",
        "--head_folds=0", "--head_augmented_copies=0", "--finetune_epochs=1", "--scratch_epochs=1",
        "--steps_per_epoch=2", "--batch_size=8",
        f"--pets={PETS}", f"--others={OTHERS}",
        f"--run_dir={tmp_path / 'run'}", f"--cache_dir={tmp_path / 'cache'}", *options,
    ])


@pytest.fixture(scope="module")
def lite0_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("lite0")
    return tmp_path, tiny_run(tmp_path, "efficientnet-lite0")


@pytest.fixture(scope="module")
def lite0_onnx(lite0_run):
    """The tiny run converted once, for every test that needs its ONNX file (any order)."""
    from convert.to_onnx import main as convert_main

    tmp_path, _ = lite0_run
    onnx_path = tmp_path / "model.onnx"
    assert convert_main([f"--run_dir={tmp_path / 'run'}", f"--output={onnx_path}"]) == 0
    return onnx_path


def test_the_run_writes_its_contract(lite0_run):
    tmp_path, contract = lite0_run
    run = tmp_path / "run"
    for name in ("model.keras", "contract.json", "train.log", "history.csv", "predictions-test.npz"):
        assert (run / name).exists(), name
    saved = json.loads((run / "contract.json").read_text())
    assert saved["class_names"] == ["cat", "dog", "other"]
    assert saved["input"] == {"name": "image", "size": 64, "layout": "NHWC", "dtype": "float32", "range": "0..255 RGB"}
    assert saved["temperature"] > 0
    assert set(saved["stage_seconds"]) == {"data", "head", "fit", "calibrate", "evaluate"}
    test = saved["metrics"]["test"]
    assert test["count"] == sum(sum(row) for row in test["confusion_matrix"])
    assert str(tmp_path) not in json.dumps(saved)  # no path of the machine that trained it
    assert saved["training_data"]["pets"] == ["dogs-vs-cats/train"]
    fusion = saved["imagenet_fusion"]
    assert np.array(fusion["kernel"]).shape == (6, 3) and len(fusion["bias"]) == 3
    assert fusion["imagenet_class_names"][281] == "tabby cat"
    compared = saved["metrics"]["held_out_kinds"]
    assert set(compared) == {"head alone", "head, 'other' when ImageNet says neither cat nor dog",
                             "head fused with ImageNet"}
    assert compared["head alone"]["pets"] == sum(saved["training_data"]["counts"]["val"][c] for c in ("cat", "dog"))


def test_conversion_agrees_with_keras(lite0_run, lite0_onnx):
    tmp_path, _ = lite0_run
    onnx_path = lite0_onnx
    parity = json.loads((tmp_path / "run" / "parity.json").read_text())
    assert parity["images"] > 0
    assert set(parity["max_output_differences"]) == {"probabilities", "class_map", "imagenet_probabilities"}
    assert max(parity["max_output_differences"].values()) < 1e-4  # every output, the extra one too

    classifier = Classifier(onnx_path)
    assert classifier.class_names == ["cat", "dog", "other"]
    assert classifier.input_size == 64
    assert classifier.contract["onnx"]["opset"] == 17
    image = preprocess((PETS / "cat.1.jpg").read_bytes(), size=64)
    prediction = classifier.predict(image[None])[0]
    assert sum(prediction.scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert prediction.class_map.shape == (2, 2)  # 64 px / 32


def test_int8_quantization_is_measured_and_keeps_the_contract(lite0_run):
    from convert.quantize import main as quantize_main
    from convert.to_onnx import main as convert_main

    tmp_path, _ = lite0_run
    onnx_path = tmp_path / "for-int8.onnx"
    assert convert_main([f"--run_dir={tmp_path / 'run'}", f"--output={onnx_path}", "--parity_images=8"]) == 0
    assert quantize_main([f"--model={onnx_path}", f"--run_dir={tmp_path / 'run'}", "--calibration_images=16"]) == 0
    result = json.loads((tmp_path / "run" / "quantization.json").read_text())
    assert result["int8"]["megabytes"] < result["fp32"]["megabytes"] / 2
    faster = result["int8"]["latency_ms_batch1"] < result["fp32"]["latency_ms_batch1"]
    assert result["int8_ships"] == (faster and result["int8"]["accuracy"] >= result["fp32"]["accuracy"])  # better on both
    int8 = Classifier(tmp_path / "run" / "model.int8.onnx")
    assert int8.contract["onnx"]["quantization"].startswith("int8")
    assert int8.contract["metrics"]["test"]["count"] == result["test_photos"]


def test_resuming_reuses_finished_stages(lite0_run, tmp_path):
    finished, first = lite0_run
    shutil.copytree(finished / "run", tmp_path / "run")  # rerun on a copy: the shared run stays as it was
    shutil.copytree(finished / "cache", tmp_path / "cache")
    second = tiny_run(tmp_path, "efficientnet-lite0")
    assert "head: reusing" in (tmp_path / "run" / "train.log").read_text()
    assert second["stage_seconds"]["head"] < first["stage_seconds"]["head"] + 1


def test_a_cross_validated_head_is_scored_and_calibrated_out_of_fold(tmp_path):
    contract = tiny_run(tmp_path, "efficientnet-lite0", "--finetune_epochs=0", "--head_folds=3",
                        "--head_augmented_copies=1")
    counts = contract["training_data"]["counts"]
    held_out = contract["metrics"]["cv"]
    assert "val" not in contract["metrics"]  # val is training data here, so no val figures
    assert held_out["count"] == sum(counts["train"].values()) + sum(counts["val"].values())
    assert contract["calibrated_on"].startswith("out-of-fold logits of 3-fold cross-validation")
    assert (tmp_path / "run" / "head-out-of-fold.npz").exists()
    log = (tmp_path / "run" / "train.log").read_text()
    assert "fold 2:" in log and "features train_augmented1:" in log


def test_a_mirror_averaging_model_converts_and_answers_the_same_for_a_mirrored_photo(tmp_path):
    from convert.to_onnx import main as convert_main

    contract = tiny_run(tmp_path, "efficientnet-lite0", "--finetune_epochs=0", "--mirror_average=true")
    assert contract["mirror_average"] is True
    assert convert_main([f"--run_dir={tmp_path / 'run'}", f"--output={tmp_path / 'mirror.onnx'}"]) == 0
    assert json.loads((tmp_path / "run" / "parity.json").read_text())["max_probability_difference"] < 1e-4
    served = Classifier(tmp_path / "mirror.onnx")
    image = preprocess((PETS / "dog.3.jpg").read_bytes(), size=64)
    photo, mirrored = served.predict(np.stack([image, image[:, ::-1]]))
    assert mirrored.scores == pytest.approx(photo.scores, abs=1e-5)
    np.testing.assert_allclose(mirrored.class_map, photo.class_map[:, ::-1], atol=1e-4)


def test_the_simple_cnn_baseline_trains_and_converts(tmp_path):
    from convert.to_onnx import main as convert_main

    contract = tiny_run(tmp_path, "simple-cnn")
    assert contract["architecture"] == "simple-cnn"
    assert "head" not in contract["stage_seconds"]
    assert convert_main([f"--run_dir={tmp_path / 'run'}", f"--output={tmp_path / 'simple.onnx'}"]) == 0
    probabilities = Classifier(tmp_path / "simple.onnx").predict(np.zeros((2, 64, 64, 3), np.uint8))
    assert len(probabilities) == 2


def test_the_report_writes_figures_and_a_model_card(lite0_run, lite0_onnx, tmp_path):
    from training.report import main as report_main

    run_dir, _ = lite0_run
    earlier = tmp_path / "earlier-runs.json"
    earlier.write_text(json.dumps({"old recipe": {"command": "python -m training.train", "test": {
        "cat_vs_dog_accuracy": 0.5, "other_recall": 0.25, "pets_called_other": 0.125, "accuracy": 0.5, "ece": 0.0625},
        "val": {"confusion_matrix": [[5, 1, 0], [2, 6, 1], [0, 3, 4]]},
        "note": "not shipped: worse on validation"}}))
    assert report_main([f"--run_dir={run_dir / 'run'}", f"--output={tmp_path}", "--baseline_dir",
                        f"--onnx={lite0_onnx}", f"--earlier={earlier}"]) == 0
    for figure in ("confusion.png", "roc.png", "reliability.png", "learning-curves.png"):
        assert (tmp_path / "report" / figure).stat().st_size > 1000, figure
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert "| cat-vs-dog accuracy (test) |" in card and "Confusion matrix" in card
    assert "classified by model.onnx (float32) from the image files" in card
    assert "| old recipe (earlier run) | 4 of 15 (val) | 50.00% | 25.00% | 12.50% | 50.00% | 6.25% |" in card
    assert "- old recipe (earlier run): not shipped: worse on validation" in card
    assert "| >= 99.30% |" in card  # the goal shown as a percentage
    targets = json.loads((tmp_path / "metrics.json").read_text())["targets"]
    assert [t["target"] for t in targets][:2] == ["cat-vs-dog accuracy (test)", "'other' recall (test)"]
