"""The model's contract: what a model says about itself, defined once.

Training writes it (`contract.json` in the run folder), conversion carries it into
the ONNX file's metadata, the app reads it back from there; every one of them goes
through this module, so a field is added or renamed in one place. No Django, no
TensorFlow, no `onnx` package: writing metadata only needs the ModelProto handed in.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from app.inference.measured import Metrics, build

METADATA_KEY = "contract"  # the ONNX metadata entry holding the whole contract as JSON

# The graph's tensors: training exports them under these names, conversion keeps them, and
# the app feeds and reads them by the names the contract of the file it loads gives.
INPUT_NAME = "image"
PROBABILITIES, CLASS_MAP = "probabilities", "class_map"
IMAGENET_PROBABILITIES = "imagenet_probabilities"  # in models fused with ImageNet
IMAGENET_FC = "imagenet_fc"  # ImageNet's 1000-class layer: the weight port, the export graph and int8 find it by name
OUTPUTS = {PROBABILITIES: "(N, classes) calibrated probabilities",
           CLASS_MAP: "(N, h, w, classes) class activation map",
           IMAGENET_PROBABILITIES: "(N, 1000) ImageNet's probabilities (the nearest kind of an 'other' photo)"}


@dataclass
class ModelInput:
    name: str  # the graph's input tensor
    size: int  # pixels, square
    layout: str = "NHWC"
    dtype: str = "float32"
    range: str = "0..255 RGB"


@dataclass
class ImageNetFusion:
    """How the head's logits and ImageNet's view of cats, dogs and the rest are combined."""
    inputs: list[str]  # the names of the fusion's six inputs, in order
    imagenet_classes: dict[str, list[int]]  # "cat"/"dog" -> first and last ImageNet class index
    kernel: list[list[float]]  # (6, classes)
    bias: list[float]
    imagenet_class_names: list[str] = field(default_factory=list)  # ImageNet's 1,000, in order


@dataclass
class TrainingData:
    """What the model learnt from: data set names (never local paths), counts, the split rule."""
    pets: list[str]
    others: list[str]
    counts: dict[str, dict[str, int]]  # split -> class -> photos
    split: str
    skipped_files: int = 0
    mislabelled_left_out: int = 0  # photos whose label is wrong (training/label_audit.py), neither trained on nor judged
    sources: dict[str, str] = field(default_factory=dict)  # data set -> its README's title
    head_fitted_on: str = "train"

    def described(self, folder: str) -> str:
        """The data set with its README's title, as the run recorded it: "folder (title)"."""
        return f"{folder} ({self.sources[folder]})" if folder in self.sources else folder


@dataclass
class OnnxGraph:
    """What conversion recorded about the ONNX file."""
    opset: int
    converter: str
    outputs: dict[str, str]  # output tensor -> what it holds
    quantization: str | None = None  # e.g. "int8 static, QDQ, per-channel weights"; None for float32


@dataclass
class Contract:
    name: str
    version: str
    created: str
    architecture: str
    class_names: list[str]
    input: ModelInput
    preprocessing: str
    temperature: float
    training_data: TrainingData
    metrics: Metrics  # what the run measured, by the photos it was measured on
    calibrated_on: str = "the validation split"
    mirror_average: bool = False
    imagenet_fusion: ImageNetFusion | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    machine: str | None = None  # what trained it: CPUs, architecture, processor
    config: dict = field(default_factory=dict)  # training's options as run (training.config.TrainConfig)
    onnx: OnnxGraph | None = None  # added by convert/

    PUBLIC = ("name", "version", "created", "architecture", "class_names", "input", "preprocessing",
              "temperature", "training_data", "metrics")  # what GET /api/v1/model shows

    # --- as plain data ---------------------------------------------------------------

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Contract":
        nested = {"input": ModelInput, "training_data": TrainingData, "imagenet_fusion": ImageNetFusion,
                  "onnx": OnnxGraph}
        built = {key: build(nested[key], value) if key in nested and value is not None else value
                 for key, value in values.items()}
        return build(cls, {**built, "metrics": Metrics.from_dict(values["metrics"])})

    def public(self) -> dict:
        values = self.to_dict()
        return {key: values[key] for key in self.PUBLIC}

    # --- in a run folder ------------------------------------------------------------

    def write_json(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def read_json(cls, path: Path) -> "Contract":
        return cls.from_dict(json.loads(Path(path).read_text()))

    # --- in an ONNX file's metadata -------------------------------------------------

    def write_metadata(self, proto) -> None:
        """Replace the metadata of an onnx.ModelProto with this contract (and, for tools that
        show metadata, its name, version and class names on their own)."""
        del proto.metadata_props[:]
        for key, value in ((METADATA_KEY, json.dumps(self.to_dict())), ("name", self.name),
                           ("version", self.version), ("class_names", ",".join(self.class_names))):
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> "Contract":
        """From an ONNX file's metadata map (onnxruntime's `custom_metadata_map`)."""
        if METADATA_KEY not in metadata:
            raise ValueError("the model file carries no contract in its metadata")
        return cls.from_dict(json.loads(metadata[METADATA_KEY]))

    @classmethod
    def read_proto(cls, proto) -> "Contract":
        return cls.from_metadata({entry.key: entry.value for entry in proto.metadata_props})

