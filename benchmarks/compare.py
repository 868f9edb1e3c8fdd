"""Two ONNX models photo by photo on the same photos: which each gets right, by kind, and
whether the photos they disagree on show one better beyond chance (exact McNemar test).

    python -m benchmarks.compare --run_dir var/runs/lite2-tuned \
        --reference var/previous/catsdogs.onnx --candidate app/model/catsdogs.onnx

The photos are a run's test split (its predictions-test.npz names them), read from the
files through the app's own preprocessing. One photo is noise; a difference counts only
when thousands of photos, paired, say so. Prints the figures and writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from app.inference.decision import decide
from app.inference.model import Classifier
from convert.quantize import load_photos, probabilities_of
from training.metrics import Paired
from training.run_files import RunFiles


def right_answers(models: tuple[Path, ...], paths: list[str], labels: np.ndarray) -> list[np.ndarray]:
    """Right or not, per photo, for each model; the photos decoded once per input size."""
    classifiers = [Classifier(model, threads=2) for model in models]
    photos: dict[int, np.ndarray] = {}
    for classifier in classifiers:
        if classifier.input_size not in photos:
            photos[classifier.input_size] = load_photos(paths, classifier.input_size)
    return [decide(probabilities_of(c, photos[c.input_size])) == labels for c in classifiers]


def paired(reference: np.ndarray, candidate: np.ndarray, rows: np.ndarray) -> dict:
    return Paired.of(reference, candidate, rows).named("reference", "candidate")


def compare_models(reference: Path, candidate: Path, test: dict) -> dict:
    paths, labels, kinds = list(test["paths"]), test["labels"], np.asarray(test["kinds"])
    reference_right, candidate_right = right_answers((reference, candidate), paths, labels)
    groups = {"pets": np.isin(kinds, ("cat", "dog")), "other": ~np.isin(kinds, ("cat", "dog"))}
    groups.update({f"other: {kind}": kinds == kind for kind in sorted(set(kinds) - {"cat", "dog"})})
    return {"reference": str(reference), "candidate": str(candidate),
            **{name: paired(reference_right, candidate_right, rows) for name, rows in groups.items()},
            "only_reference_right": [Path(p).name for p in np.array(paths)[reference_right & ~candidate_right]],
            "only_candidate_right": [Path(p).name for p in np.array(paths)[candidate_right & ~reference_right]]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run_dir", required=True, help="the run whose test split is compared on")
    parser.add_argument("--reference", required=True)
    parser.add_argument("--candidate", default="app/model/catsdogs.onnx")
    parser.add_argument("--output", help="JSON file (default: RUN_DIR/compare.json)")
    args = parser.parse_args(argv)
    test = dict(np.load(RunFiles(args.run_dir).test_predictions))
    result = compare_models(Path(args.reference), Path(args.candidate), test)
    for name, figures in result.items():
        if isinstance(figures, dict):
            print(f"{name:<28} {Paired.from_named(figures, 'reference', 'candidate').sentence('reference', 'candidate')}")
    output = Path(args.output or Path(args.run_dir) / "compare.json")
    output.write_text(json.dumps(result, indent=1))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
