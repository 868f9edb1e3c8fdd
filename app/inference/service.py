"""Classify a batch of uploaded files: the one code path behind the page and the API.

Plain Python (no Django): takes bytes, returns the JSON-able answer described
in the README and in /api/v1/openapi.json. A file that is not a usable image
gets its own error entry; the others are still answered.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass

import numpy as np

from app.inference.heatmap import overlay, to_data_uri
from app.inference.model import Classifier
from app.inference.preprocess import ImageError, preprocess


@dataclass
class Upload:
    filename: str
    content: bytes


def clean_filename(name: str | None, max_length: int = 120) -> str:
    """The last path component, printable characters only, bounded length."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in ("C",))
    return name[:max_length] or "upload"


def classify(uploads: list[Upload], classifier: Classifier, max_pixels: int, heatmaps: bool = False) -> dict:
    start = time.perf_counter()
    entries: list[dict] = []
    pixels: list[np.ndarray] = []
    waiting: list[dict] = []  # entries still to be filled by the model
    for upload in uploads:
        entry = {"filename": clean_filename(upload.filename)}
        entries.append(entry)
        try:
            pixels.append(preprocess(upload.content, classifier.input_size, max_pixels))
            waiting.append(entry)
        except ImageError as error:
            entry["error"] = {"code": error.code, "message": error.message}
    preprocessed = time.perf_counter()

    predictions = classifier.predict(np.stack(pixels)) if pixels else []
    inferred = time.perf_counter()

    for entry, prediction, image in zip(waiting, predictions, pixels):
        entry.update(label=prediction.label, confidence=round(prediction.confidence, 4),
                     scores={k: round(v, 4) for k, v in prediction.scores.items()})
        kind = prediction.nearest_imagenet_kind
        if kind:
            entry["nearest_imagenet_kind"] = {"name": kind["name"], "probability": round(kind["probability"], 4)}
        if heatmaps:
            entry["heatmap"] = {"grid": np.round(prediction.class_map, 3).tolist(),
                                "image": to_data_uri(overlay(image, prediction.class_map)),
                                "photo": to_data_uri(image)}  # the same pixels without the map, to compare
    done = time.perf_counter()

    return {
        "predictions": entries,
        "model": {"name": classifier.contract.name, "version": classifier.contract.version},
        "timing_ms": {"preprocess": _ms(start, preprocessed), "inference": _ms(preprocessed, inferred),
                      "heatmap": _ms(inferred, done), "total": _ms(start, done)},
    }


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000.0, 2)
