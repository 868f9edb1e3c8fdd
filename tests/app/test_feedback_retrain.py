"""An exported feedback folder is training data as it stands: a tiny real run reads it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tests.conftest import OTHERS, PETS, tiny_run, upload

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("migrated")]
PER_CLASS = 16  # tiny_run's --limit_per_class


def test_a_tiny_run_trains_on_an_exported_folder(client, tmp_path):
    photos = {"cat": sorted(PETS.glob("cat.*.jpg"))[20:20 + PER_CLASS],
              "dog": sorted(PETS.glob("dog.*.jpg"))[20:20 + PER_CLASS],
              "other": sorted(OTHERS.glob("*.jpg"))[:PER_CLASS]}
    for correct, paths in photos.items():
        for path in paths:
            response = client.post("/api/v1/feedback", {
                "predicted": "other" if correct != "other" else "cat", "correct": correct,
                "model_version": "retrain-test", "consent": "true", "image": upload(path.name, path.read_bytes())})
            assert response.status_code == 201
    export = tmp_path / "export"
    call_command("export_feedback", str(export))
    assert (export / "feedback.csv").exists()  # beside the photos, and not read as one

    contract = tiny_run(tmp_path, "simple-cnn", f"--pets={export}", f"--others={export / 'other'}")
    counts = contract.training_data.counts
    assert sum(counts[split][label] for split in counts for label in ("cat", "dog", "other")) == 3 * PER_CLASS
    assert all(sum(counts[split][label] for split in counts) == PER_CLASS for label in ("cat", "dog", "other"))
