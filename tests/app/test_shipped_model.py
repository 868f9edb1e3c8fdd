"""The shipped model, through the API, on the photos the model issue names: animals that are
neither cat nor dog, and a calico and a tortoiseshell cat. All are from the test split (never
trained on); each kind's first test-split photo, the cats as seen in the test split."""

from __future__ import annotations

import pytest

from tests.conftest import PETS, upload
from training.config import DATASETS

ANIMALS = DATASETS / "animals"
EXPECTED = [(ANIMALS / "fox.23.jpg", "other"), (ANIMALS / "horse.23.jpg", "other"),
            (ANIMALS / "rabbit.0.jpg", "other"), (PETS / "cat.10377.jpg", "cat"),  # calico
            (PETS / "cat.10006.jpg", "cat")]  # tortoiseshell and white


@pytest.mark.parametrize("path,label", EXPECTED, ids=[path.name for path, _ in EXPECTED])
def test_the_shipped_model_answers_look_alikes_and_patchy_cats_right(client, path, label):
    response = client.post("/api/v1/predict", {"image": [upload(path.name, path.read_bytes())]})
    assert response.status_code == 200
    prediction = response.json()["predictions"][0]
    assert prediction["label"] == label, prediction["scores"]
