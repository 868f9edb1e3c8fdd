"""Keras and onnxruntime must give the same outputs on real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from app.inference.preprocess import preprocess
from training.scoring import load_run


def parity_images(run_dir: Path, count: int) -> np.ndarray:
    """The first `count` photos of the run's test split, through the serving preprocessing."""
    contract, predictions = load_run(Path(run_dir))
    paths = list(predictions["paths"][:count])
    size = contract.input.size
    return np.stack([preprocess(Path(p).read_bytes(), size) for p in paths])


def max_output_differences(keras_path: Path, onnx_path: Path, images: np.ndarray,
                           batch_size: int = 32) -> dict[str, float]:
    """Output name -> largest difference between Keras and onnxruntime, for every output of the
    graph (probabilities, class map, and ImageNet's probabilities if fused), relative to the
    output's own scale: divided by its largest magnitude when that is above 1 (the class map
    is in logits, tens in size; probabilities are compared as they are)."""
    from training.models.classifier import load_export_model

    model = load_export_model(keras_path)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    image = session.get_inputs()[0].name  # the graph's one input, by the name the file gives it
    worst = dict.fromkeys(names, 0.0)
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size].astype(np.float32)
        expected = model.predict_on_batch(batch)
        for name, want, got in zip(names, expected, session.run(names, {image: batch})):
            want = np.asarray(want)
            scale = max(1.0, float(np.abs(want).max()))
            worst[name] = max(worst[name], float(np.abs(want - got).max()) / scale)
    return worst
