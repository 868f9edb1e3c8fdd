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

METADATA_KEY = "contract"  # the ONNX metadata entry holding the whole contract as JSON


@dataclass
class ModelInput:
    name: str  # the graph's input tensor
    size: int  # pixels, square
    layout: str = "NHWC"
    dtype: str = "float32"
    range: str = "0..255 RGB"


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
    training_data: dict  # data set names (never local paths), counts per split, split rule
    metrics: dict  # "test", and "cv" or "val", "held_out_kinds", "test_by_kind"
    calibrated_on: str = "the validation split"
    mirror_average: bool = False
    imagenet_fusion: dict | None = None  # weights, ImageNet's cat and dog classes and class names
    stage_seconds: dict = field(default_factory=dict)
    machine: str | None = None  # what trained it: CPUs, architecture, processor
    config: dict = field(default_factory=dict)  # the training options, as run
    onnx: dict | None = None  # opset, converter, outputs, quantization: added by convert/

    PUBLIC = ("name", "version", "created", "architecture", "class_names", "input", "preprocessing",
              "temperature", "training_data", "metrics")  # what GET /api/v1/model shows

    # --- as plain data ---------------------------------------------------------------

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Contract":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown contract fields: {sorted(unknown)}")
        return cls(**{**values, "input": ModelInput(**values["input"])})

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
