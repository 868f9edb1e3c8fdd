"""The ONNX classifier: one onnxruntime session per process, built on first use.

No Django and no TensorFlow here. The ONNX file carries its own contract
(class names, input size, preprocessing, temperature, metrics, version) in its
metadata (`app/inference/contract.py`), written by `convert/to_onnx.py`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import onnxruntime as ort

from app.inference.answer import ImageNetKind
from app.inference.contract import CLASS_MAP, IMAGENET_PROBABILITIES, PROBABILITIES, Contract
from app.inference.decision import decide
from app.inference.variant import Variant, choose

log = logging.getLogger("app")


@dataclass
class Prediction:
    label: str
    confidence: float
    scores: dict[str, float]
    class_map: np.ndarray  # (h, w) float32 in [0, 1]: where the evidence for `label` was
    nearest_imagenet_kind: ImageNetKind | None = None  # for "other": ImageNet's likeliest kind that is no cat or dog


class Classifier:
    def __init__(self, path: Path, threads: int = 1, variant: Variant | None = None):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = _open_session(Path(path), options)
        self.contract = _read_contract(Path(path), self.session)
        self.class_names: list[str] = self.contract.class_names
        self.input_size: int = self.contract.input.size
        self.input_name: str = self.contract.input.name
        self.outputs = [PROBABILITIES, CLASS_MAP]
        self._kinds = self._imagenet_kinds()
        if self._kinds is not None:
            self.outputs.append(IMAGENET_PROBABILITIES)
            self._not_pets = np.array([kind is not None for kind in self._kinds])  # once, not per photo
        self._lock = threading.Lock()  # one run at a time per session keeps latency predictable
        self.variant = variant or Variant("float32", Path(path), "given this file")

    def warm_up(self) -> None:
        self.predict(np.zeros((1, self.input_size, self.input_size, 3), dtype=np.uint8))

    def predict(self, images: np.ndarray) -> list[Prediction]:
        """uint8 RGB (N, size, size, 3), as made by `preprocess` -> one Prediction each."""
        with self._lock:
            outputs = self.session.run(self.outputs, {self.input_name: images.astype(np.float32)})
        imagenet = outputs[2] if self._kinds is not None else [None] * len(images)
        return [self._prediction(p, m, i) for p, m, i in zip(outputs[0], outputs[1], imagenet)]

    def _prediction(self, probabilities: np.ndarray, class_map: np.ndarray,
                    imagenet: np.ndarray | None) -> Prediction:
        best = int(decide(probabilities))
        evidence = class_map[:, :, best]
        spread = float(evidence.max() - evidence.min())
        normalised = (evidence - evidence.min()) / spread if spread > 1e-6 else np.zeros_like(evidence)
        label = self.class_names[best]
        return Prediction(
            label=label,
            confidence=float(probabilities[best]),
            scores={name: float(p) for name, p in zip(self.class_names, probabilities)},
            class_map=normalised.astype(np.float32),
            nearest_imagenet_kind=(self._nearest_imagenet_kind(imagenet)
                                   if label == "other" and imagenet is not None else None),
        )

    def _imagenet_kinds(self) -> np.ndarray | None:
        """ImageNet's class names with its cats and dogs blanked out, if the model has that output."""
        fusion = self.contract.imagenet_fusion
        served = {o.name for o in self.session.get_outputs()}
        if IMAGENET_PROBABILITIES not in served or fusion is None or not fusion.imagenet_class_names:
            return None
        kinds = np.array(fusion.imagenet_class_names, dtype=object)
        for first, last in fusion.imagenet_classes.values():
            kinds[first:last + 1] = None
        return kinds

    def _nearest_imagenet_kind(self, imagenet: np.ndarray) -> ImageNetKind:
        """ImageNet's likeliest kind among those that are no cat or dog, and its probability
        (ImageNet's own, not calibrated on our photos). ImageNet has no "person": a photo of
        people gets what they wear or hold (suit, jersey, neck brace)."""
        best = int(np.argmax(np.where(self._not_pets, imagenet, -1.0)))
        return ImageNetKind(name=str(self._kinds[best]), probability=float(imagenet[best]))

    def describe(self) -> dict:
        """Public metadata: name, version, classes, input, metrics, and the variant running."""
        return self._description

    @cached_property
    def _description(self) -> dict:
        # the contract and the variant are fixed once loaded: the page and /api/v1/model read it each request
        return {**self.contract.public(),
                "variant": {"name": self.variant.name, "file": self.variant.path.name,
                            "reason": self.variant.reason}}


class ModelLoadError(Exception):
    """The model file cannot be served. The message is one line naming the file and why:
    start-up reports it as it is, since a traceback would only bury it."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"cannot load the model {path}: {reason}")


def _open_session(path: Path, options: ort.SessionOptions) -> ort.InferenceSession:
    if not path.is_file():
        raise ModelLoadError(path, "it is a folder" if path.is_dir() else "no such file")
    if path.stat().st_size == 0:
        raise ModelLoadError(path, "the file is empty")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime's errors (InvalidProtobuf, NoSuchFile...) share no narrower base
        raise ModelLoadError(path, _onnxruntime_reason(error)) from error


def _onnxruntime_reason(error: Exception) -> str:
    """onnxruntime's own words without its prefix ("[ONNXRuntimeError] : 7 : INVALID_PROTOBUF :
    Load model from <path> failed:"), which repeats the path; a cut-off or foreign file fails
    protobuf parsing."""
    reason = str(error).split(" failed:", 1)[-1].strip().rstrip(".")
    if "Protobuf parsing failed" in reason:
        return "not an ONNX model, or cut off (protobuf parsing failed)"
    return reason or type(error).__name__


def _read_contract(path: Path, session: ort.InferenceSession) -> Contract:
    try:
        return Contract.from_metadata(session.get_modelmeta().custom_metadata_map)
    except (ValueError, KeyError, TypeError) as error:  # no contract, or one this app cannot read
        raise ModelLoadError(path, str(error)) from error


def load_classifier(path: str, threads: int = 1, variant: str = "auto") -> Classifier:
    """A new classifier for this model (float32 or its int8 twin, whichever this CPU runs
    faster: app/inference/variant.py), warmed up."""
    chosen = choose(Path(path), variant)
    log.info("model variant %s (%s): %s", chosen.name, chosen.path.name, chosen.reason)
    classifier = Classifier(chosen.path, threads, chosen)
    classifier.warm_up()
    return classifier


@lru_cache(maxsize=4)
def get_classifier(path: str, threads: int = 1, variant: str = "auto") -> Classifier:
    """The process-wide classifier for this model, loaded once (load_classifier)."""
    return load_classifier(path, threads, variant)
