"""Classify a batch of uploaded files: the one code path behind the page and the API.

Plain Python (no Django): takes bytes, returns the typed answer of
app/inference/answer.py, which /api/v1/openapi.json describes. A file that is
not a usable image gets its own error entry; the others are still answered.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass

import numpy as np

from app.inference.answer import Answer, Error, Heatmap, ImageNetKind, ModelInfo, PhotoAnswer, Timing
from app.inference.heatmap import overlay, to_data_uri
from app.inference.model import Classifier, Prediction
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


def classify(uploads: list[Upload], classifier: Classifier, max_pixels: int, heatmaps: bool = False) -> Answer:
    start = time.perf_counter()
    filenames = [clean_filename(upload.filename) for upload in uploads]
    errors: dict[int, Error] = {}  # by the upload's place
    pixels: list[np.ndarray] = []
    for i, upload in enumerate(uploads):
        try:
            pixels.append(preprocess(upload.content, classifier.input_size, max_pixels))
        except ImageError as error:
            errors[i] = Error(error.code, error.message)
    preprocessed = time.perf_counter()

    predictions = classifier.predict(np.stack(pixels)) if pixels else []
    inferred = time.perf_counter()

    readable = zip(predictions, pixels)  # in upload order, skipping the unreadable ones
    entries = [PhotoAnswer(name, error=errors[i]) if i in errors else _answered(name, *next(readable), heatmaps)
               for i, name in enumerate(filenames)]
    done = time.perf_counter()

    return Answer(
        predictions=entries,
        model=ModelInfo(classifier.contract.name, classifier.contract.version),
        timing_ms=Timing(preprocess=_ms(start, preprocessed), inference=_ms(preprocessed, inferred),
                         heatmap=_ms(inferred, done), total=_ms(start, done)),
    )


def _answered(filename: str, prediction: Prediction, image: np.ndarray, heatmaps: bool) -> PhotoAnswer:
    kind = prediction.nearest_imagenet_kind
    return PhotoAnswer(
        filename=filename, label=prediction.label, confidence=round(prediction.confidence, 4),
        scores={k: round(v, 4) for k, v in prediction.scores.items()},
        nearest_imagenet_kind=ImageNetKind(kind.name, round(kind.probability, 4)) if kind else None,
        heatmap=_heatmap(prediction, image) if heatmaps else None,
    )


def _heatmap(prediction: Prediction, image: np.ndarray) -> Heatmap:
    return Heatmap(grid=np.round(prediction.class_map, 3).tolist(),
                   image=to_data_uri(overlay(image, prediction.class_map)),
                   photo=to_data_uri(image))  # the same pixels without the map, to compare


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000.0, 2)
