"""What the API answers, as typed values: the views, the metrics, the page, the command line
and the OpenAPI document (`app/web/openapi.py`) all read these classes, so a field added
here is served, rendered where a template asks for it, and documented.

Plain Python, no Django. Each field's description lives in its metadata, once. A field left
None is absent from the JSON (a photo that could not be read has no label, one answered
without ?heatmap=1 has no heatmap), and the fields' order is the order of the keys in the
API's answer (`app.json_dataclasses.as_json`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.json_dataclasses import described, required

CLASSES = "classes"  # the served model's, from its contract: given when the schema is made


@dataclass(frozen=True)
class Error:
    """Why a file, or a whole request, could not be answered."""

    code: str = required("Machine-readable reason, e.g. unsupported_format or too_many_pixels.")
    message: str = required("The same reason in a sentence for people.")


@dataclass(frozen=True)
class ImageNetKind:
    """One of ImageNet's 1,000 kinds, with ImageNet's own probability of it."""

    name: str = required("ImageNet's name for the kind, e.g. golf ball or jeans.")
    probability: float = required("ImageNet's probability of that kind (not calibrated on our photos).",
                                  minimum=0, maximum=1)


@dataclass(frozen=True)
class Heatmap:
    """Where the model found the evidence for its label."""

    grid: list[list[float]] = required("The class activation map, rows of values in [0, 1].")
    image: str = required("JPEG data: URI of the overlay")
    photo: str = required("JPEG data: URI of the photo as the model saw it "
                          "(upright, squashed to its square input), no overlay")


@dataclass(frozen=True)
class PhotoAnswer:
    """Either label/confidence/scores, or error for a file that could not be read."""

    filename: str = required("The uploaded file's name, cleaned: its last path component, printable, "
                             "at most 120 characters.")
    label: str | None = described("The answer: the class with the highest calibrated probability.",
                                  choices=CLASSES)
    confidence: float | None = described("Calibrated probability of `label`.", minimum=0, maximum=1)
    scores: dict[str, float] | None = described("Calibrated probability of each class.", choices=CLASSES)
    nearest_imagenet_kind: ImageNetKind | None = described(
        "Only when `label` is other (and the model carries ImageNet's classifier): the likeliest "
        "of ImageNet's 1,000 kinds that is no cat or dog, with ImageNet's own probability (not "
        "calibrated on our photos). ImageNet has no 'person': people get what they wear or hold.")
    heatmap: Heatmap | None = described("Only with ?heatmap=1.")
    error: Error | None = described("Why this file could not be classified; the others still are.")


@dataclass(frozen=True)
class ModelInfo:
    """The model that answered."""

    name: str = required("The model's name.")
    version: str = required("The model's version: send it back with feedback as model_version.")


@dataclass(frozen=True)
class Timing:
    """Milliseconds spent on the whole request, by stage."""

    preprocess: float = required("Decoding and resizing every file.", minimum=0)
    inference: float = required("Running the model on the batch.", minimum=0)
    heatmap: float = required("Building the answers, heatmaps included.", minimum=0)
    total: float = required("All of the above.", minimum=0)


@dataclass(frozen=True)
class Answer:
    """The answer to POST /api/v1/predict: one entry per file, in the order sent."""

    predictions: list[PhotoAnswer] = required("One entry per uploaded file, in the order sent.")
    model: ModelInfo = required("The model that answered.")
    timing_ms: Timing = required("Milliseconds spent, by stage.")
    error: Error | None = described("When no file could be classified: the first file's error.")


@dataclass(frozen=True)
class Refusal:
    """The answer to a request refused as a whole (no file was looked at)."""

    error: Error = required("Why the request was refused.")

    @classmethod
    def of(cls, code: str, message: str) -> "Refusal":
        return cls(Error(code, message))
