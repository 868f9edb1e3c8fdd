"""Optional int8 quantization of the ONNX model, with its accuracy and speed measured.

    python -m convert.quantize --model app/model/catsdogs.onnx --run_dir var/runs/lite0

Static quantization (QDQ, per-channel weights) calibrated on training-split
photos, then both models are run on the run's test split and timed at batch 1
in the same process. Writes <run_dir>/quantization.json and prints the
comparison; --ship replaces the model only if int8 is at least as accurate
(within --max_accuracy_drop) and faster.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from app.inference.model import CONTRACT_KEY, INPUT_NAME, Classifier
from app.inference.preprocess import preprocess


class _Photos(CalibrationDataReader):
    def __init__(self, images: np.ndarray, batch_size: int = 16):
        self.batches = iter([images[i:i + batch_size].astype(np.float32) for i in range(0, len(images), batch_size)])

    def get_next(self):
        batch = next(self.batches, None)
        return None if batch is None else {INPUT_NAME: batch}


def load_photos(paths: list[str], size: int) -> np.ndarray:
    return np.stack([preprocess(Path(p).read_bytes(), size) for p in paths])


def training_paths(run_dir: Path) -> list[str]:
    """Photos of the run's training split (calibration must never see the test split),
    from the decoded-photo cache the run recorded it was trained on."""
    from training.cache import load_cache

    cache = Path(json.loads((run_dir / "data.json").read_text())["cache"])
    return load_cache(cache).paths_of("train")


# Layers after the backbone (training/models/classifier.py and the export graph) stay
# float32: they cost nothing, and an 8-bit softmax would give probabilities in steps
# of 1/255 that do not even sum to 1.
FLOAT_LAYERS = ("head", "logits", "temperature", "probabilities", "class_map", "pooled", "imagenet_fc",
                "imagenet_groups", "fusion_inputs", "fusion", "fusion_map", "imagenet_probabilities")


def head_nodes(model: onnx.ModelProto) -> list[str]:
    def in_head(name: str) -> bool:
        return any(f"/{layer}_1/" in name or f"/{layer}/" in name for layer in FLOAT_LAYERS)
    return [node.name for node in model.graph.node if in_head(node.name)]


def quantize(model_path: Path, output: Path, calibration: np.ndarray) -> None:
    """Write the int8 model; its contract is updated later with its own test metrics."""
    prepared = output.with_suffix(".prep.onnx")
    quant_pre_process(str(model_path), str(prepared), skip_symbolic_shape=True)  # shapes are static
    quantize_static(str(prepared), str(output), _Photos(calibration), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    nodes_to_exclude=head_nodes(onnx.load(str(prepared))))
    prepared.unlink()
    # keep the contract: quantize_static writes a new model without our metadata
    source, target = onnx.load(str(model_path)), onnx.load(str(output))
    contract = json.loads({p.key: p.value for p in source.metadata_props}[CONTRACT_KEY])
    contract["onnx"]["quantization"] = "int8 static, QDQ, per-channel weights"
    del target.metadata_props[:]
    for entry in source.metadata_props:
        new = target.metadata_props.add()
        new.key, new.value = entry.key, json.dumps(contract) if entry.key == CONTRACT_KEY else entry.value
    onnx.save(target, str(output))


def test_metrics(classifier: Classifier, images: np.ndarray, labels: np.ndarray) -> dict:
    from training.metrics import summarise

    probabilities = []
    for start in range(0, len(images), 32):
        probabilities += [[p.scores[c] for c in classifier.class_names]
                          for p in classifier.predict(images[start:start + 32])]
    return summarise(np.array(probabilities), labels, tuple(classifier.class_names))


def set_test_metrics(path: Path, test: dict) -> None:
    """Record the model's own test figures in its contract (what /api/v1/model shows)."""
    model = onnx.load(str(path))
    for entry in model.metadata_props:
        if entry.key == CONTRACT_KEY:
            contract = json.loads(entry.value)
            contract["metrics"]["test"] = test
            entry.value = json.dumps(contract)
    onnx.save(model, str(path))


def latency_ms(classifier: Classifier, image: np.ndarray, runs: int = 200) -> float:
    for _ in range(10):
        classifier.predict(image)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        classifier.predict(image)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="app/model/catsdogs.onnx")
    parser.add_argument("--run_dir", default="var/runs/lite0")
    parser.add_argument("--calibration_images", type=int, default=256)
    parser.add_argument("--max_accuracy_drop", type=float, default=0.0,
                        help="accuracy int8 may lose and still ship (0: better on both, as the model issue asks)")
    parser.add_argument("--ship", action="store_true", help="replace --model with the int8 one if it wins")
    args = parser.parse_args(argv)

    model_path, run_dir = Path(args.model), Path(args.run_dir)
    int8_path = run_dir / "model.int8.onnx"
    fp32 = Classifier(model_path, threads=1)
    size = fp32.input_size
    test = np.load(run_dir / "predictions-test.npz")
    train_paths = training_paths(run_dir)
    rng = np.random.default_rng(0)
    calibration = load_photos(list(rng.choice(train_paths, args.calibration_images, replace=False)), size)
    quantize(model_path, int8_path, calibration)
    int8 = Classifier(int8_path, threads=1)

    test_images, test_labels = load_photos(list(test["paths"]), size), test["labels"]
    one = test_images[:1]
    figures = {"fp32": test_metrics(fp32, test_images, test_labels),
               "int8": test_metrics(int8, test_images, test_labels)}
    result = {"test_photos": int(len(test_labels))}
    for kind, classifier, path in (("fp32", fp32, model_path), ("int8", int8, int8_path)):
        result[kind] = {"accuracy": figures[kind]["accuracy"], "ece": figures[kind]["ece"],
                        "cat_vs_dog_accuracy": figures[kind]["cat_vs_dog_accuracy"],
                        "latency_ms_batch1": latency_ms(classifier, one),
                        "megabytes": round(path.stat().st_size / 1e6, 2)}
    set_test_metrics(int8_path, figures["int8"])
    wins = (result["int8"]["accuracy"] >= result["fp32"]["accuracy"] - args.max_accuracy_drop
            and result["int8"]["latency_ms_batch1"] < result["fp32"]["latency_ms_batch1"])
    result["int8_ships"] = bool(wins)
    (run_dir / "quantization.json").write_text(json.dumps(result, indent=2))
    for kind in ("fp32", "int8"):
        r = result[kind]
        print(f"{kind}: accuracy {r['accuracy']:.4f} (cat-vs-dog {r['cat_vs_dog_accuracy']:.4f}, "
              f"ECE {r['ece']:.4f}) on {result['test_photos']} test photos, "
              f"p50 {r['latency_ms_batch1']:.2f} ms at batch 1 (1 thread), {r['megabytes']} MB")
    print(f"int8 {'wins' if wins else 'does not win'}: "
          f"speed x{result['fp32']['latency_ms_batch1'] / result['int8']['latency_ms_batch1']:.2f}, "
          f"accuracy {100 * (result['int8']['accuracy'] - result['fp32']['accuracy']):+.2f} points")
    if args.ship and wins:
        shutil.copy(model_path, run_dir / "model.fp32.onnx")  # kept for benchmarks and comparisons
        shutil.copy(int8_path, model_path)
        print(f"shipped {int8_path} as {model_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
