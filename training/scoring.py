"""A run's test photos scored by the served ONNX file, read from the image files as the app
reads them, so the report describes the shipped model (possibly int8), not the Keras model
it came from."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.inference.contract import Contract
from training.run_files import RunFiles

BATCH = 32  # photos per call of the served model


def load_run(run_dir: Path) -> tuple[Contract, dict]:
    """A run's contract and its test predictions (probabilities, labels, paths, kinds)."""
    files = RunFiles(run_dir)
    contract = Contract.read_json(files.contract)
    predictions = dict(np.load(files.test_predictions))
    return contract, predictions


def evaluate_onnx(onnx_path: Path, predictions: dict) -> tuple[dict, str]:
    """The predictions with the served model's probabilities in place of the run's, and a
    label for the card naming the file and its number format."""
    from app.inference.model import Classifier

    served = Classifier(onnx_path, threads=2)
    probabilities = served_probabilities(served, list(predictions["paths"]))
    return {**predictions, "probabilities": probabilities}, served_label(onnx_path, served.contract)


def served_probabilities(served, paths: list) -> np.ndarray:
    """(N, classes) probabilities, in the served model's class order, of the photos at `paths`."""
    from app.inference.preprocess import preprocess

    probabilities = []
    for start in range(0, len(paths), BATCH):
        batch = np.stack([preprocess(Path(p).read_bytes(), served.input_size) for p in paths[start:start + BATCH]])
        probabilities += [[p.scores[c] for c in served.class_names] for p in served.predict(batch)]
    return np.array(probabilities)


def served_label(onnx_path: Path, contract: Contract) -> str:
    """"catsdogs.onnx (float32)", or the quantization the conversion recorded."""
    quantized = contract.onnx.quantization if contract.onnx else None
    return f"{onnx_path.name} ({quantized})" if quantized else f"{onnx_path.name} (float32)"
