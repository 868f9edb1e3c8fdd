"""benchmarks/compare.py: two models photo by photo."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.compare import main, paired


def test_paired_counts_the_photos_each_model_alone_gets_right():
    reference = np.array([True, True, False, False, True, True])
    candidate = np.array([True, False, True, True, True, False])
    rows = np.array([True, True, True, True, True, False])  # the last photo is outside the group
    figures = paired(reference, candidate, rows)
    assert figures == {"photos": 5, "reference_right": 3, "candidate_right": 4, "only_reference_right": 1,
                       "only_candidate_right": 2, "mcnemar_p": pytest.approx(1.0)}


@pytest.mark.slow
def test_a_model_compared_with_itself_disagrees_nowhere(lite0_run, lite0_onnx, tmp_path):
    run_dir = lite0_run[0] / "run"
    output = tmp_path / "compare.json"
    assert main([f"--run_dir={run_dir}", f"--reference={lite0_onnx}", f"--candidate={lite0_onnx}",
                 f"--output={output}"]) == 0
    result = json.loads(output.read_text())
    test = np.load(run_dir / "predictions-test.npz")
    assert result["pets"]["photos"] + result["other"]["photos"] == len(test["labels"])
    assert result["only_reference_right"] == result["only_candidate_right"] == []
    assert result["pets"]["mcnemar_p"] == 1.0
