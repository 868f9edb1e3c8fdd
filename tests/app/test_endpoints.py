"""The small GET endpoints: health, readiness, model card, OpenAPI, 404s."""

from __future__ import annotations

import pytest
from django.test import override_settings

from app.web.views import classifier


def test_healthz_says_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_names_the_loaded_model(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["version"] == classifier().contract.version


def test_readyz_is_503_when_the_model_cannot_load(client, tmp_path):
    with override_settings(MODEL_PATH=tmp_path / "missing.onnx"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "model_unavailable"


def test_model_endpoint_carries_the_contract(client):
    card = client.get("/api/v1/model").json()
    assert card["class_names"] == ["cat", "dog", "other"]
    assert card["input"]["size"] == classifier().input_size
    assert card["temperature"] > 0
    assert {"accuracy", "cat_vs_dog_accuracy", "ece"} <= set(card["metrics"]["test"])


def test_openapi_documents_every_route(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/api/v1/predict", "/api/v1/feedback", "/api/v1/model", "/healthz", "/readyz"}
    responses = document["paths"]["/api/v1/predict"]["post"]["responses"]
    assert {"200", "400", "405", "413", "415", "429"} <= set(responses)
    prediction = responses["200"]["content"]["application/json"]["schema"]["properties"]["predictions"]["items"]
    classes = classifier().class_names  # from the served model's contract, not a copy
    for path, operations in document["paths"].items():
        for operation in operations.values():
            assert any(p["name"] == "X-Request-ID" and p["in"] == "header" for p in operation["parameters"]), path
            assert all("X-Request-ID" in r["headers"] for r in operation["responses"].values()), path
    assert prediction["properties"]["label"]["enum"] == classes
    assert set(prediction["properties"]["scores"]["properties"]) == set(classes)


def test_unknown_paths_are_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_health_endpoints_refuse_post(client):
    assert client.post("/healthz").status_code == 405


def test_probes_answer_any_host_and_plain_http(client):
    """Health checks come by internal address over HTTP, even when HTTPS is enforced."""
    with override_settings(ALLOWED_HOSTS=["catsdogs.example"], SECURE_SSL_REDIRECT=True):
        assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
        assert client.get("/readyz", HTTP_HOST="127.0.0.1").status_code == 200
        assert client.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400  # everything else is checked


@pytest.mark.parametrize("path", ["/", "/healthz", "/readyz", "/api/v1/model", "/api/v1/openapi.json"])
def test_head_answers_like_get_without_a_body(client, path):
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code == 200
    assert head["Content-Type"] == get["Content-Type"]
    assert head.content == b""
