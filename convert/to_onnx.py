"""Convert a trained run's Keras export model to ONNX, then prove they agree.

    python -m convert.to_onnx --run_dir var/runs/lite0 --output app/model/catsdogs.onnx

The ONNX file carries the run's contract (class names, input, preprocessing,
temperature, metrics, version, date: app/inference/contract.py) in its
metadata, so the app needs nothing else. The parity check runs Keras and onnxruntime on real
photos of the run's test split and fails if any output (probabilities, class
map, ImageNet's probabilities) differs by more than PARITY_TOLERANCE; only a
file that passes is moved to --output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import onnx  # noqa: E402
import tf2onnx  # noqa: E402

from app.inference.contract import IMAGENET_PROBABILITIES, OUTPUTS, PROBABILITIES, Contract, OnnxGraph  # noqa: E402
from convert.half_precision import halve_imagenet_branch  # noqa: E402
from convert.parity import max_output_differences, parity_images  # noqa: E402
from training.models.classifier import load_export_model  # noqa: E402
from training.onnx_graph import OPSET, keras_to_onnx  # noqa: E402
from training.run_files import RunFiles  # noqa: E402

PARITY_TOLERANCE = 1e-4
# outputs that the half-precision ImageNet branch feeds (convert/half_precision.py)
HALF_PRECISION_TOLERANCE = {PROBABILITIES: 1e-3, IMAGENET_PROBABILITIES: 1e-3}


def convert(run_dir: Path, output: Path) -> bool:
    """Write the run's export model as ONNX with its contract; True if its ImageNet branch was
    stored at half precision (the parity check then allows that branch's tolerance)."""
    files = RunFiles(run_dir)
    model = load_export_model(files.model)
    contract = Contract.read_json(files.contract)
    proto = keras_to_onnx(model)
    outputs = dict(list(OUTPUTS.items())[:len(model.outputs)])  # the export model's outputs come in this order
    _name_outputs(proto, list(outputs))
    contract.onnx = OnnxGraph(OPSET, f"tf2onnx {tf2onnx.__version__}", outputs)
    halved = halve_imagenet_branch(proto) > 0
    contract.write_metadata(proto)
    proto.producer_name = "catsdogs convert/to_onnx.py"
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(output))
    return halved


def tolerance_of(output: str, halved: bool) -> float:
    return HALF_PRECISION_TOLERANCE.get(output, PARITY_TOLERANCE) if halved else PARITY_TOLERANCE


def _name_outputs(proto: onnx.ModelProto, names: list[str]) -> None:
    """Give the graph outputs stable names (tf2onnx may append suffixes)."""
    for output, name in zip(proto.graph.output, names):
        old = output.name
        if old == name:
            continue
        for node in proto.graph.node:
            node.output[:] = [name if o == old else o for o in node.output]
            node.input[:] = [name if i == old else i for i in node.input]
        output.name = name


def parity_report(run_dir: Path, output: Path) -> Path:
    """Where the parity figures of one conversion go: named after its output, so converting
    the same run twice (float32, then for int8) keeps both."""
    return run_dir / f"{output.stem}.parity.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run_dir", default="var/runs/lite0")
    parser.add_argument("--output", default="app/model/catsdogs.onnx")
    parser.add_argument("--parity_images", type=int, default=256)
    args = parser.parse_args(argv)

    output = Path(args.output)
    # converted and checked beside the target, then moved into place: a failed check never
    # replaces the model the app loads
    candidate = output.with_name(f".{output.name}.candidate")
    halved = convert(Path(args.run_dir), candidate)  # whether the ImageNet branch is float16
    size_mb = candidate.stat().st_size / 1e6
    images = parity_images(Path(args.run_dir), args.parity_images)
    differences = max_output_differences(RunFiles(args.run_dir).model, candidate, images)
    tolerances = {name: tolerance_of(name, halved) for name in differences}
    ok = all(d < tolerances[name] for name, d in differences.items())
    if ok:
        os.replace(candidate, output)
    else:
        candidate.unlink()
    shown = ", ".join(f"{name} {d:.2e}" for name, d in differences.items())
    print(f"{'wrote' if ok else 'did not write'} {output} ({size_mb:.1f} MB); parity on {len(images)} test photos, "
          f"max |keras - onnx| (relative to the output's scale): {shown} ({'OK' if ok else 'FAILED'}, "
          "tolerances " + ", ".join(f"{name} {t:g}" for name, t in tolerances.items()) + ")")
    parity_report(Path(args.run_dir), output).write_text(json.dumps(
        {"images": len(images), "max_probability_difference": differences[PROBABILITIES],
         "max_output_differences": differences, "onnx_megabytes": round(size_mb, 2)}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
