"""The ONNX classifier: one onnxruntime session per process, built on first use.

No Django and no TensorFlow here. The ONNX file carries its own contract
(class names, input size, preprocessing, temperature, metrics, version) in its
metadata under the key "contract", written by `convert/to_onnx.py`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnxruntime as ort

CONTRACT_KEY = "contract"
INPUT_NAME, PROBABILITIES, CLASS_MAP = "image", "probabilities", "class_map"


@dataclass
class Prediction:
    label: str
    confidence: float
    scores: dict[str, float]
    class_map: np.ndarray  # (h, w) float32 in [0, 1]: where the evidence for `label` was


class Classifier:
    def __init__(self, path: Path, threads: int = 1):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.contract = json.loads(self.session.get_modelmeta().custom_metadata_map[CONTRACT_KEY])
        self.class_names: list[str] = self.contract["class_names"]
        self.input_size: int = self.contract["input"]["size"]
        self._lock = threading.Lock()  # one run at a time per session keeps latency predictable

    def warm_up(self) -> None:
        self.predict(np.zeros((1, self.input_size, self.input_size, 3), dtype=np.uint8))

    def predict(self, images: np.ndarray) -> list[Prediction]:
        """uint8 RGB (N, size, size, 3), as made by `preprocess` -> one Prediction each."""
        with self._lock:
            probabilities, class_maps = self.session.run(
                [PROBABILITIES, CLASS_MAP], {INPUT_NAME: images.astype(np.float32)})
        return [self._prediction(p, m) for p, m in zip(probabilities, class_maps)]

    def _prediction(self, probabilities: np.ndarray, class_map: np.ndarray) -> Prediction:
        best = int(np.argmax(probabilities))
        evidence = class_map[:, :, best]
        spread = float(evidence.max() - evidence.min())
        normalised = (evidence - evidence.min()) / spread if spread > 1e-6 else np.zeros_like(evidence)
        return Prediction(
            label=self.class_names[best],
            confidence=float(probabilities[best]),
            scores={name: float(p) for name, p in zip(self.class_names, probabilities)},
            class_map=normalised.astype(np.float32),
        )

    def describe(self) -> dict:
        """Public metadata: name, version, classes, input and metrics."""
        keys = ("name", "version", "created", "architecture", "class_names", "input", "preprocessing",
                "temperature", "training_data", "metrics")
        return {k: self.contract[k] for k in keys if k in self.contract}


@lru_cache(maxsize=4)
def get_classifier(path: str, threads: int = 1) -> Classifier:
    """The process-wide classifier for this file, created and warmed up once."""
    classifier = Classifier(Path(path), threads)
    classifier.warm_up()
    return classifier
