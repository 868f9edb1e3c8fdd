"""GET /metrics: Prometheus figures that add up across gunicorn's workers, open on the app's
port by default and never open to the internet on a deployed host."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import override_settings

from benchmarks.server import free_port, local_server
from tests.conftest import CAT_PHOTOS, photo, upload


def value(text: str, sample: str) -> float:
    """The value of one sample line, e.g. 'catsdogs_predictions_total{label="cat"}'; 0 if absent."""
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_metrics_count_requests_labels_file_errors_and_time_per_photo(client):
    before = client.get("/metrics").content.decode()
    files = [upload(n, photo(n)) for n in (CAT_PHOTOS[0], CAT_PHOTOS[1], "car.1.jpg")]
    files.append(upload("notes.jpg", b"not an image"))
    assert client.post("/api/v1/predict", {"image": files}).status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    after = response.content.decode()
    for sample, grew in (('catsdogs_predictions_total{label="cat"}', 2), ('catsdogs_predictions_total{label="other"}', 1),
                         ('catsdogs_file_errors_total{code="unsupported_format"}', 1),
                         ('catsdogs_requests_total{endpoint="api-predict",status="200"}', 1),
                         ('catsdogs_photo_seconds_count{stage="inference"}', 3)):
        assert value(after, sample) - value(before, sample) == grew, sample
    assert re.search(r'^catsdogs_model_info\{name="catsdogs-efficientnet-lite2",.*variant="(int8|float32)".*\} 1\.0$',
                     after, re.M)


def test_unknown_paths_are_counted_under_one_name(client):
    client.get(f"/{uuid.uuid4().hex}")
    text = client.get("/metrics").content.decode()
    assert value(text, 'catsdogs_requests_total{endpoint="unmatched",status="404"}') >= 1
    assert "endpoint=\"/" not in text  # no path ever becomes a label


def test_a_deployed_host_needs_the_token_or_serves_no_metrics_at_all(client):
    with override_settings(HTTPS=True, METRICS_TOKEN=""):
        assert client.get("/metrics", secure=True).status_code == 404
    with override_settings(HTTPS=True, METRICS_TOKEN="s3cret"):
        assert client.get("/metrics", secure=True).status_code == 401
        assert client.get("/metrics", secure=True, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
        answer = client.get("/metrics", secure=True, HTTP_AUTHORIZATION="Bearer s3cret")
        assert answer.status_code == 200 and b"catsdogs_requests_total" in answer.content
    with override_settings(METRICS_PORT=9091):  # served on its own port: never on the public one
        assert client.get("/metrics").status_code == 404


def predictions_per_worker(metrics_dir, scratch) -> dict[str, float]:
    """Each worker's own count, read from its file alone: proof that the total is a sum."""
    import shutil

    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    counts = {}
    for db in metrics_dir.glob("counter_*.db"):
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        shutil.copy(db, scratch / db.name)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(scratch))
        counts[db.name] = value(generate_latest(registry).decode(), 'catsdogs_predictions_total{label="cat"}')
    return counts


def _predict_cats(server, body: bytes, content_type: str, count: int) -> None:
    """`count` predictions of a cat photo, 8 at a time on new connections, so that both workers take some."""
    def one(_):
        request = urllib.request.Request(server.url + "/api/v1/predict", data=body,
                                         headers={"Content-Type": content_type, "Host": "localhost"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["predictions"][0]["label"]

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(count))) == {"cat"}


@pytest.mark.slow
def test_two_workers_add_up_on_the_metrics_port_and_the_public_port_refuses(tmp_path):
    from benchmarks.harness import multipart_file
    from tests.conftest import PETS

    metrics_port = free_port()
    server = local_server(workers=2, METRICS_PORT=str(metrics_port), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    try:
        server.wait_ready()
        body, content_type = multipart_file(PETS / "cat.1.jpg", tmp_path)
        sent, per_worker = 0, {}
        # which worker accepts a connection is the kernel's choice: send until both have answered some
        while sent < 240 and len([n for n in per_worker.values() if n]) < 2:
            _predict_cats(server, body.read_bytes(), content_type, 24)
            sent += 24
            per_worker = predictions_per_worker(tmp_path / "metrics", tmp_path / "one")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
            pids = set(re.findall(r'^catsdogs_model_info\{.*pid="(\d+)".*\} 1\.0$', text, re.M))
            if value(text, 'catsdogs_predictions_total{label="cat"}') == sent and len(pids) == 2:
                break
            time.sleep(0.2)
        assert value(text, 'catsdogs_predictions_total{label="cat"}') == sent  # summed over the workers
        assert len(pids) == 2, text  # both workers reported
        per_worker = predictions_per_worker(tmp_path / "metrics", tmp_path / "one")
        assert sum(per_worker.values()) == sent and len([n for n in per_worker.values() if n]) == 2, per_worker
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(server.url + "/metrics", headers={"Host": "localhost"}))
        assert refused.value.code == 404
    finally:
        server.stop()
