"""Keras and onnxruntime must give the same probabilities on real photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from app.inference.model import Classifier
from app.inference.preprocess import preprocess


def parity_images(run_dir: Path, count: int) -> np.ndarray:
    """The first `count` photos of the run's test split, through the serving preprocessing."""
    paths = list(np.load(Path(run_dir) / "predictions-test.npz")["paths"][:count])
    size = json.loads((Path(run_dir) / "contract.json").read_text())["input"]["size"]
    return np.stack([preprocess(Path(p).read_bytes(), size) for p in paths])


def max_probability_difference(keras_path: Path, onnx_path: Path, images: np.ndarray,
                               batch_size: int = 32) -> float:
    import keras

    model = keras.models.load_model(keras_path)
    onnx_model = Classifier(onnx_path, threads=2)
    worst = 0.0
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        expected = np.asarray(model.predict_on_batch(batch.astype(np.float32))[0])
        got = np.array([[p.scores[c] for c in onnx_model.class_names] for p in onnx_model.predict(batch)])
        worst = max(worst, float(np.abs(expected - got).max()))
    return worst
