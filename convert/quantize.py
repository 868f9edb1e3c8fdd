"""int8 quantization of the ONNX model, judged by the numeric-equivalence rule.

    python -m convert.quantize --model app/model/catsdogs.onnx --run_dir var/runs/lite2 --ship

Static quantization (QDQ, per-channel weights) calibrated on training-split
photos, then both models are run on the run's test split and timed at batch 1
in the same process. Writes <run_dir>/quantization.json (each model's test
figures, latency and size, the verdict, the photos on which they disagree) and
prints the comparison. With --ship,
an int8 model that is equivalent (convert/equivalence.py) is written beside
the float32 one as <model>.int8.onnx; the app runs it on CPUs where it is
the faster of the two. The float32 file is never replaced.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from app.inference.contract import IMAGENET_FC, INPUT_NAME, Contract
from app.inference.decision import decide
from app.inference.measured import SplitFigures
from app.inference.model import Classifier
from app.inference.preprocess import preprocess
from app.inference.variant import int8_path_for
from convert.equivalence import Verdict, compare
from convert.half_precision import widen
from training.metrics import summarise
from training.run_files import RunFiles


@dataclasses.dataclass
class Measured:
    """One model on the run's test photos."""
    test: SplitFigures
    latency_ms_batch1: float  # median, one thread
    megabytes: float

    def as_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Report:
    """float32 against int8: what quantization.json holds and the console shows."""
    fp32: Measured
    int8: Measured
    verdict: Verdict
    disagreements: list[str]  # file names of the photos that only one of the two gets right

    def as_json(self) -> dict:
        return {"test_photos": self.fp32.test.count, "fp32": self.fp32.as_json(), "int8": self.int8.as_json(),
                "equivalence": self.verdict.as_json(), "disagreements": self.disagreements}


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

    cache = Path(json.loads(RunFiles(run_dir).data.read_text())["cache"])
    return load_cache(cache).paths_of("train")


# Layers after the backbone (training/models/classifier.py and the export graph) stay
# float32: they cost nothing, and an 8-bit softmax would give probabilities in steps
# of 1/255 that do not even sum to 1. The exception is the ImageNet classifier's matrix
# product: its 1.28 million weights are read on every run, a quarter of that in int8, and
# its output, ImageNet's logits, stays float (float_output_ops).
FLOAT_LAYERS = ("head", "logits", "temperature", "probabilities", "class_map", "pooled",
                "imagenet_groups", "fusion_inputs", "fusion", "fusion_map", "imagenet_probabilities")
PRODUCTS = ("Gemm", "MatMul")


def float_output_ops(model: onnx.ModelProto, excluded: list[str]) -> list[str]:
    """The op types whose outputs stay float32: matrix products, when the only ones quantized
    are the ImageNet classifier's. onnxruntime's option is by op type, so a backbone with a
    matrix product of its own (the from-scratch CNN's dense layer) keeps its 8-bit outputs."""
    quantized = [node.name for node in model.graph.node if node.op_type in PRODUCTS and node.name not in excluded]
    return list(PRODUCTS) if quantized and all(f"/{IMAGENET_FC}" in name for name in quantized) else []


def head_nodes(model: onnx.ModelProto) -> list[str]:
    def in_head(name: str) -> bool:
        return any(f"/{layer}_1/" in name or f"/{layer}/" in name for layer in FLOAT_LAYERS)
    return [node.name for node in model.graph.node if in_head(node.name)]


def quantize(model_path: Path, output: Path, calibration: np.ndarray) -> None:
    """Write the int8 model; its contract is updated later with its own test metrics."""
    prepared, widened = output.with_suffix(".prep.onnx"), output.with_suffix(".float32.onnx")
    full = onnx.load(str(model_path))
    contract = Contract.read_proto(full)  # quantize_static writes a new model without our metadata
    widen(full)  # quantization reads float32 initializers, not a half-precision branch's casts
    onnx.save(full, str(widened))
    quant_pre_process(str(widened), str(prepared), skip_symbolic_shape=True)  # shapes are static
    widened.unlink()
    graph = onnx.load(str(prepared))
    excluded = head_nodes(graph)
    quantize_static(str(prepared), str(output), _Photos(calibration), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    nodes_to_exclude=excluded,
                    extra_options={"OpTypesToExcludeOutputQuantization": float_output_ops(graph, excluded)})
    prepared.unlink()
    contract.onnx = dataclasses.replace(contract.onnx, quantization="int8 static, QDQ, per-channel weights")
    target = onnx.load(str(output))
    contract.write_metadata(target)
    onnx.save(target, str(output))


def probabilities_of(classifier: Classifier, images: np.ndarray) -> np.ndarray:
    probabilities = []
    for start in range(0, len(images), 32):
        probabilities += [[p.scores[c] for c in classifier.class_names]
                          for p in classifier.predict(images[start:start + 32])]
    return np.array(probabilities)


def set_test_metrics(path: Path, test: SplitFigures) -> None:
    """Record the model's own test figures in its contract (what /api/v1/model shows)."""
    model = onnx.load(str(path))
    contract = Contract.read_proto(model)
    contract.metrics.test = test
    contract.write_metadata(model)
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
    parser.add_argument("--run_dir", default="var/runs/lite2")
    parser.add_argument("--calibration_images", type=int, default=256)
    parser.add_argument("--ship", action="store_true",
                        help="write the int8 model beside --model if it is equivalent (convert/equivalence.py)")
    args = parser.parse_args(argv)

    model_path, run_dir = Path(args.model), Path(args.run_dir)
    int8_path = run_dir / "model.int8.onnx"
    fp32 = Classifier(model_path, threads=1)
    rng = np.random.default_rng(0)
    calibration = load_photos(list(rng.choice(training_paths(run_dir), args.calibration_images, replace=False)),
                              fp32.input_size)
    quantize(model_path, int8_path, calibration)
    report = measure((fp32, model_path), (Classifier(int8_path, threads=1), int8_path),
                     np.load(RunFiles(run_dir).test_predictions))
    set_test_metrics(int8_path, report.int8.test)
    (run_dir / "quantization.json").write_text(json.dumps(report.as_json(), indent=2))
    _print(report)
    if args.ship:
        ship(int8_path, int8_path_for(model_path), report.verdict.equivalent)
    return 0


def ship(int8_path: Path, target: Path, equivalent: bool) -> None:
    """Put the int8 model beside the float32 one if it is equivalent, through a temporary file
    so the app never loads half a file; otherwise remove any earlier twin, which belongs to
    another float32 model."""
    if equivalent:
        candidate = target.with_name(f".{target.name}.candidate")
        shutil.copy(int8_path, candidate)
        os.replace(candidate, target)
        print(f"shipped {int8_path} as {target}")
    elif target.exists():
        target.unlink()
        print(f"removed {target}: the int8 model of this float32 one is not equivalent")


def measure(fp32: tuple[Classifier, Path], int8: tuple[Classifier, Path], test: dict) -> Report:
    """Both models, each a (classifier, file) pair, on the run's test photos: figures, batch-1
    latency, size, the verdict of the equivalence rule and the photos on which they disagree."""
    images, labels = load_photos(list(test["paths"]), fp32[0].input_size), test["labels"]
    measured, right = [], []
    for classifier, path in (fp32, int8):
        probabilities = probabilities_of(classifier, images)
        measured.append(Measured(summarise(probabilities, labels, tuple(classifier.class_names)),
                                 latency_ms(classifier, images[:1]), round(path.stat().st_size / 1e6, 2)))
        right.append(decide(probabilities) == labels)
    disagreements = [Path(p).name for p in np.array(test["paths"])[right[0] != right[1]]]
    return Report(measured[0], measured[1], compare(right[0], right[1]), disagreements)


def _print(report: Report) -> None:
    for kind, m in (("fp32", report.fp32), ("int8", report.int8)):
        print(f"{kind}: accuracy {m.test.accuracy:.4f} (cat-vs-dog {m.test.cat_vs_dog_accuracy:.4f}, "
              f"ECE {m.test.ece:.4f}) on {m.test.count} test photos, "
              f"p50 {m.latency_ms_batch1:.2f} ms at batch 1 (1 thread), {m.megabytes} MB")
    paired = report.verdict.paired
    print(f"int8 {'is' if report.verdict.equivalent else 'is not'} equivalent: {paired.only_first_right} photos "
          f"only fp32 gets right, {paired.only_second_right} only int8 (McNemar p = {paired.mcnemar_p:.3f}, "
          f"accuracy drop {100 * report.verdict.accuracy_drop:+.2f} points); speed x"
          f"{report.fp32.latency_ms_batch1 / report.int8.latency_ms_batch1:.2f} here")


if __name__ == "__main__":
    raise SystemExit(main())
