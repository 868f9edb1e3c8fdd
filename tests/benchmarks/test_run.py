"""make bench's report: results.json holds every note BENCHMARKS.md shows, the 12 MP one
included, and the server helper everything starts gunicorn with reports a failed start."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import benchmarks.run as run
from benchmarks.server import Server
from tests.conftest import ROOT

SAVED = json.loads((ROOT / "benchmarks" / "results.json").read_text())  # real figures' shapes


class FakeClassifier:
    input_size = 260

    def __init__(self, *args):
        pass


def test_results_json_carries_the_12_mp_note_that_benchmarks_md_shows(tmp_path: Path, monkeypatch):
    for name in ("model", "preprocess", "http", "cold_start", "memory", "batch"):  # measured figures, not measuring
        monkeypatch.setattr(run, f"bench_{name}", lambda *args, _name=name, **kwargs: SAVED.get(_name, {}))
    baseline = [{"photo": "500x375 JPEG", "tensorflow_ms": 110.0, "ours_ms": 15.0, "speedup": 7.3},
                {"photo": "12 MP JPEG", "tensorflow_ms": 150.0, "ours_ms": 37.5, "speedup": 4.0}]  # misses x5
    monkeypatch.setattr(run, "bench_tensorflow_baseline", lambda *args: baseline)
    monkeypatch.setattr(run, "make_photos", lambda folder: {"500x375 JPEG": None})
    monkeypatch.setattr(run, "Classifier", FakeClassifier)
    monkeypatch.setattr(run.shutil, "which", lambda name: "/usr/bin/" + name)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.keras").write_bytes(b"")
    assert run.main([f"--run_dir={tmp_path / 'run'}", f"--output={tmp_path / 'BENCHMARKS.md'}"]) == 0
    notes = json.loads((tmp_path / "results.json").read_text())["notes"]
    assert len(notes) == 1 and notes[0].startswith("The 12 MP speed-up (x4.0) misses x5")
    assert (tmp_path / "BENCHMARKS.md").read_text().count(notes[0]) == 1


def test_a_server_that_exits_before_it_is_ready_says_what_it_printed(tmp_path: Path):
    with Server({**os.environ, "MODEL_PATH": str(tmp_path / "missing.onnx"), "WEB_CONCURRENCY": "1"}) as server:
        with pytest.raises(RuntimeError, match=r"exited \(3\) before it was ready(.|\n)*missing.onnx: no such file"):
            server.wait_ready(timeout=60)


def test_a_target_this_run_could_not_measure_is_not_run_rather_than_missed():
    without_keras = {**SAVED, "baseline": []}
    *judged, (name, value, goal, met) = run.verdicts(without_keras)
    assert name.startswith("speed-up over Keras") and value is None and met is None
    assert all(isinstance(met, bool) for *_, met in judged)
    assert run.VERDICT_WORDS[met] == ("not run", "SKIP")

    with_keras = {**SAVED, "baseline": [{"photo": "500x375 JPEG", "speedup": 7.3},
                                        {"photo": "12 MP JPEG", "speedup": 4.0}]}
    assert run.verdicts(with_keras)[-1][1:] == (4.0, ">= 5", False)  # the worse photo is judged
