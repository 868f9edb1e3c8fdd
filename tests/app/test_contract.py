"""The model's contract: one typed definition, written and read the same way everywhere."""

from __future__ import annotations

import pytest

from app.inference.contract import Contract, ModelInput
from app.inference.model import Classifier
from tests.conftest import SHIPPED_MODEL


def shipped() -> Contract:
    return Classifier(SHIPPED_MODEL).contract


def test_the_shipped_model_carries_a_complete_contract():
    contract = shipped()
    assert contract.class_names == ["cat", "dog", "other"]
    assert isinstance(contract.input, ModelInput) and contract.input.size == 260
    assert contract.onnx["opset"] == 17 and contract.imagenet_fusion["imagenet_classes"]["cat"] == [281, 285]


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
    with pytest.raises(ValueError, match="unknown contract fields"):
        Contract.from_dict({**values, "colour": "blue"})
    with pytest.raises(ValueError, match="no contract"):
        Contract.from_metadata({"name": "something"})


def test_the_public_part_holds_no_local_path():
    public = shipped().public()
    assert set(public) == set(Contract.PUBLIC)
    assert "/work/" not in str(public) and "/home/" not in str(public) and "/tmp/" not in str(public)
