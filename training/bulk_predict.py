"""Run a Keras model over thousands of cached images, through onnxruntime.

Training stays in Keras; only bulk inference (frozen features, validation
and test logits) goes through here: onnxruntime runs the same graph faster
than Keras `predict` on a CPU, and converting the model is cheap next to
running it over thousands of images.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import onnxruntime as ort

from training.onnx_graph import keras_to_onnx


class BulkPredictor:
    """A frozen copy of a Keras model's current weights, as an onnxruntime session."""

    def __init__(self, model: keras.Model, threads: int = 2):
        proto = keras_to_onnx(model)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(proto.SerializeToString(), options,
                                            providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def predict(self, images: np.ndarray, batch_size: int = 32,
                transform: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        """uint8 (N, h, w, 3), possibly memory-mapped -> the model's first output, (N, ...).

        `transform` (float32 batch -> float32 batch) changes each batch first: a mirror, an augmentation.
        """
        return self.predict_all(images, batch_size, transform)[0]

    def predict_all(self, images: np.ndarray, batch_size: int = 32,
                    transform: Callable[[np.ndarray], np.ndarray] | None = None) -> list[np.ndarray]:
        """Like `predict`, but every output of the model, in order."""
        outputs = []
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size].astype(np.float32)
            if transform is not None:
                batch = np.ascontiguousarray(transform(batch), dtype=np.float32)
            outputs.append(self.session.run(None, {self.input_name: batch}))
        return [np.concatenate(parts) for parts in zip(*outputs)]
