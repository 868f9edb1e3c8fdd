"""Every request gets an id, returned and logged; LOG_FORMAT=json makes each line one JSON object."""

from __future__ import annotations

import json
import logging
import re

import pytest

from app.logs import JsonFormatter, logging_config
from tests.conftest import photo, upload


def access_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "app.access"]


def test_each_request_gets_a_new_id_in_its_response_and_its_access_line(client, caplog):
    caplog.set_level(logging.INFO, logger="app.access")
    first, second = client.get("/healthz"), client.get("/api/v1/model")
    ids = [first["X-Request-ID"], second["X-Request-ID"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and ids[0] != ids[1]
    records = access_records(caplog)
    assert [(r.request_id, r.method, r.path, r.status) for r in records] == [
        (ids[0], "GET", "/healthz", 200), (ids[1], "GET", "/api/v1/model", 200)]
    assert all(r.duration_ms >= 0 for r in records)


def test_a_proxy_s_request_id_is_kept_and_a_malformed_one_replaced(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="fly-abc.123:4")["X-Request-ID"] == "fly-abc.123:4"
    for bad in ("has spaces", "x" * 200, "<script>", "a\tb"):
        kept = client.get("/healthz", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
        assert kept != bad and re.fullmatch(r"[0-9a-f]{32}", kept)


def test_a_prediction_logs_how_many_photos_got_each_label_but_no_file_name(client, caplog):
    caplog.set_level(logging.INFO, logger="app.access")
    names = ["cat.1.jpg", "cat.2.jpg", "car.1.jpg"]
    response = client.post("/api/v1/predict", {"image": [upload(f"secret-{n}", photo(n)) for n in names]})
    assert response.status_code == 200
    record = access_records(caplog)[-1]
    assert record.labels == {"cat": 2, "other": 1} and record.status == 200
    assert "secret" not in record.getMessage() and "secret" not in JsonFormatter().format(record)


def test_errors_are_logged_with_their_status(client, caplog):
    caplog.set_level(logging.INFO, logger="app.access")
    assert client.post("/api/v1/predict", {"photo": "x"}).status_code == 400
    assert access_records(caplog)[-1].status == 400


def test_the_json_format_is_one_object_per_line_with_only_known_fields():
    record = logging.LogRecord("app.access", logging.INFO, __file__, 1, "GET / 200", None, None)
    record.request_id, record.status, record.secret = "abc", 200, "must not appear"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["request_id"] == "abc" and parsed["status"] == 200 and parsed["level"] == "INFO"
    assert "secret" not in parsed


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_gunicorn_and_django_share_the_logging_setup(monkeypatch, tmp_path, log_format):
    import runpy

    from tests.conftest import ROOT

    monkeypatch.setenv("LOG_FORMAT", log_format)
    monkeypatch.delenv("TIME_ZONE", raising=False)  # logging_config's default zone, UTC
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the config sets it; restored after
    gunicorn = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert gunicorn["accesslog"] is None  # the app writes the access lines, with their request ids
    assert gunicorn["logconfig_dict"] == logging_config(log_format, "INFO")
    is_json = gunicorn["logconfig_dict"]["formatters"]["main"].get("()") == "app.logs.JsonFormatter"
    assert is_json == (log_format == "json")
