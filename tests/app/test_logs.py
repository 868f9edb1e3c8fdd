"""Log lines in one time zone with their offset, in both formats and in every process, and a
model file that cannot be loaded stopping start-up with one plain line instead of a traceback."""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from app.inference.model import Classifier, ModelLoadError
from app.logs import JsonFormatter, TextFormatter, time_zone
from benchmarks.server import Server
from tests.conftest import SHIPPED_MODEL

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}([+-]\d\d:\d\d|Z)"
INSTANT = datetime(2026, 11, 27, 18, 37, 2, 180000, tzinfo=timezone.utc)


def record_at(instant: datetime) -> logging.LogRecord:
    record = logging.LogRecord("app.access", logging.INFO, __file__, 1, "GET / 200", None, None)
    record.created = instant.timestamp()
    return record


def test_text_and_json_lines_show_the_same_instant_with_its_offset():
    record = record_at(INSTANT)
    text, parsed = TextFormatter().format(record), json.loads(JsonFormatter().format(record))
    assert text == "2026-11-27T18:37:02.180+00:00 INFO app.access GET / 200"
    assert parsed["time"] == "2026-11-27T18:37:02.180+00:00"


def test_another_zone_keeps_the_instant_and_shows_its_offset():
    record = record_at(INSTANT)
    text = TextFormatter("Asia/Kolkata").format(record)
    assert text.startswith("2026-11-28T00:07:02.180+05:30 ")
    shown = datetime.fromisoformat(json.loads(JsonFormatter("America/Chicago").format(record))["time"])
    assert shown == INSTANT and shown.utcoffset() == timedelta(hours=-6)


def test_the_zone_is_utc_unless_time_zone_says_otherwise(monkeypatch):
    from django.conf import settings

    assert settings.TIME_ZONE == (os.environ.get("TIME_ZONE") or "UTC")  # not Django's default, America/Chicago
    monkeypatch.delenv("TIME_ZONE", raising=False)
    assert time_zone() == "UTC"
    monkeypatch.setenv("TIME_ZONE", "Europe/Amsterdam")
    assert time_zone() == "Europe/Amsterdam"
    monkeypatch.setenv("TIME_ZONE", "Mars/Olympus")
    with pytest.raises(ImproperlyConfigured, match="TIME_ZONE"):
        time_zone()


# --- a model file that cannot be loaded ------------------------------------------------------

def broken_models(folder: Path) -> dict[str, tuple[Path, str]]:
    """file -> (path, the reason its error must give)"""
    cut = folder / "cut.onnx"
    cut.write_bytes(SHIPPED_MODEL.read_bytes()[:100_000])
    text = folder / "notes.onnx"
    text.write_text("not a model\n")
    empty = folder / "empty.onnx"
    empty.write_bytes(b"")
    return {"missing": (folder / "missing.onnx", "no such file"), "folder": (folder, "it is a folder"),
            "empty": (empty, "the file is empty"),
            "cut off": (cut, "not an ONNX model, or cut off (protobuf parsing failed)"),
            "not ONNX": (text, "not an ONNX model, or cut off (protobuf parsing failed)")}


def test_each_unloadable_file_gets_one_line_naming_it_and_why(tmp_path):
    for name, (path, reason) in broken_models(tmp_path).items():
        with pytest.raises(ModelLoadError) as caught:
            Classifier(path)
        assert str(caught.value) == f"cannot load the model {path}: {reason}", name


def test_an_onnx_file_without_our_contract_is_refused(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["probabilities"])], "other",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1])])
    path = tmp_path / "someone-else.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(ModelLoadError, match=f"{re.escape(str(path))}: the model file carries no contract"):
        Classifier(path)


def start_gunicorn(model: Path, **env: str) -> tuple[int, str]:
    """gunicorn started as the benchmarks and other tests start it; (exit code, what it printed)."""
    inherited = {key: value for key, value in os.environ.items() if key != "TIME_ZONE"}  # the default is tested
    with Server({**inherited, "MODEL_PATH": str(model), "WEB_CONCURRENCY": "2", **env}) as server:
        code = server.process.wait(timeout=120)
        return code, server.output()


@pytest.mark.parametrize("log_format,zone,offset", [("text", None, "+00:00"), ("json", "Asia/Kolkata", "+05:30")])
def test_gunicorn_refuses_to_start_on_a_broken_model_with_one_plain_line(tmp_path, log_format, zone, offset):
    """A real start: gunicorn's master and workers, their own lines and the app's, all in one zone."""
    cut = tmp_path / "catsdogs.onnx"
    cut.write_bytes(SHIPPED_MODEL.read_bytes()[:100_000])
    code, printed = start_gunicorn(cut, LOG_FORMAT=log_format, **({"TIME_ZONE": zone} if zone else {}),
                                   PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    assert code == 3  # gunicorn's "worker failed to boot": the server did not start
    lines = printed.splitlines()
    assert "Traceback" not in printed
    entries = [json.loads(line) for line in lines] if log_format == "json" else [_text_entry(line) for line in lines]
    assert all(entry["time"].endswith(offset) for entry in entries), printed
    assert any(entry["logger"] == "gunicorn.error" and "Booting worker" in entry["message"] for entry in entries)
    errors = {entry["message"] for entry in entries if entry["logger"] == "app" and entry["level"] == "ERROR"}
    assert errors == {f"cannot load the model {cut}: not an ONNX model, or cut off (protobuf parsing failed)"}
    # one line from each worker that got as far as loading it, no more
    assert 1 <= sum(entry["logger"] == "app" and entry["level"] == "ERROR" for entry in entries) <= 2


def _text_entry(line: str) -> dict:
    match = re.fullmatch(rf"({STAMP}) (\w+) (\S+) (.*)", line)
    assert match, f"a line without its time and offset: {line!r}"
    return {"time": match[1], "level": match[3], "logger": match[4], "message": match[5]}
