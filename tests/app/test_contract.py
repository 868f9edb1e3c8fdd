"""The model's contract: one typed definition, written and read the same way everywhere."""

from __future__ import annotations

import dataclasses
import json

import pytest

from app.inference.contract import Contract, ImageNetFusion, ModelInput, OnnxGraph, TrainingData
from app.inference.measured import ClassFigures, KindFigures, Metrics, PairedFigures, SplitFigures
from app.inference.model import Classifier
from tests.conftest import SHIPPED_MODEL


def shipped() -> Contract:
    return Classifier(SHIPPED_MODEL).contract


def test_the_shipped_model_carries_a_complete_contract():
    contract = shipped()
    assert contract.class_names == ["cat", "dog", "other"]
    assert isinstance(contract.input, ModelInput) and contract.input.size == 260
    assert contract.onnx.opset == 17 and contract.imagenet_fusion.imagenet_classes["cat"] == [281, 285]
    assert isinstance(contract.onnx, OnnxGraph) and isinstance(contract.imagenet_fusion, ImageNetFusion)
    assert isinstance(contract.training_data, TrainingData) and contract.training_data.counts["test"]["cat"] > 0
    assert len(contract.imagenet_fusion.imagenet_class_names) == 1000


def test_the_shipped_model_s_figures_are_typed():
    measured = shipped().metrics
    assert isinstance(measured.test, SplitFigures) and isinstance(measured.test.per_class["cat"], ClassFigures)
    assert measured.test.count == sum(map(sum, measured.test.confusion_matrix))
    assert measured.held_out is not None and measured.held_out[0] == "cv"
    assert all(isinstance(figures, KindFigures) for figures in measured.held_out_kinds.values())
    pets = measured.tuned_against_frozen["pets"]
    assert isinstance(pets, PairedFigures) and pets.only_tuned_right > 0
    assert pets.tuned_right - pets.only_tuned_right == pets.frozen_right - pets.only_frozen_right  # right with both


def test_paired_figures_of_older_contracts_need_not_count_the_photos_each_got_right():
    older = {"photos": 10, "only_tuned_right": 2, "only_frozen_right": 1, "mcnemar_p": 1.0}
    figures = Metrics.from_dict({"test": dataclasses.asdict(shipped().metrics.test),
                                 "tuned_against_frozen": {"pets": older}}).tuned_against_frozen["pets"]
    assert figures.only_tuned_right == 2 and figures.tuned_right is None and figures.frozen_right is None


def test_figures_survive_json_and_a_misspelt_one_is_refused():
    test = SplitFigures(count=2, accuracy=0.5, cat_vs_dog_accuracy=0.5, other_recall=None, pets_called_other=0.0,
                        ece=0.25, confusion_matrix=[[1, 1, 0], [0, 0, 0], [0, 0, 0]],
                        per_class={"cat": ClassFigures(1.0, 0.5, 2)})
    values = json.loads(json.dumps(dataclasses.asdict(Metrics(test=test))))
    assert values["val"] is None and values["held_out_kinds"] == {}  # not measured
    assert Metrics.from_dict(values) == Metrics(test=test)
    with pytest.raises(ValueError, match="unknown SplitFigures fields"):
        Metrics.from_dict({"test": {**values["test"], "acuracy": 0.5}})


def test_a_contract_survives_json_and_onnx_metadata(tmp_path):
    import onnx

    contract = shipped()
    contract.write_json(tmp_path / "contract.json")
    assert Contract.read_json(tmp_path / "contract.json") == contract
    proto = onnx.ModelProto()
    contract.write_metadata(proto)
    assert Contract.read_proto(proto) == contract
    assert {p.key: p.value for p in proto.metadata_props}["class_names"] == "cat,dog,other"


def test_unknown_fields_and_missing_contracts_are_refused():
    values = shipped().to_dict()
    with pytest.raises(ValueError, match="unknown Contract fields"):
        Contract.from_dict({**values, "colour": "blue"})
    with pytest.raises(ValueError, match="unknown TrainingData fields"):
        Contract.from_dict({**values, "training_data": {**values["training_data"], "colour": "blue"}})
    with pytest.raises(ValueError, match="no contract"):
        Contract.from_metadata({"name": "something"})


def test_the_public_part_holds_no_local_path():
    public = shipped().public()
    assert set(public) == set(Contract.PUBLIC)
    assert "/work/" not in str(public) and "/home/" not in str(public) and "/tmp/" not in str(public)


def test_the_app_feeds_the_input_the_contract_names(tmp_path):
    import numpy as np
    import onnx

    proto = onnx.load(str(SHIPPED_MODEL))
    for tensor in proto.graph.input:
        tensor.name = tensor.name.replace("image", "photo")
    for node in proto.graph.node:
        node.input[:] = ["photo" if name == "image" else name for name in node.input]
    contract = Contract.read_proto(proto)
    contract.input.name = "photo"
    contract.write_metadata(proto)
    renamed = tmp_path / "renamed.onnx"
    onnx.save(proto, str(renamed))
    image = np.full((1, 260, 260, 3), 128, np.uint8)
    [answer] = Classifier(renamed).predict(image)
    [expected] = Classifier(SHIPPED_MODEL).predict(image)
    assert answer.label == expected.label and answer.confidence == pytest.approx(expected.confidence)
