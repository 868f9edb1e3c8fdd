"""The typed answer (app/inference/answer.py) against the OpenAPI document the app serves:
every field is documented, and what the API really sends is what the document says."""

from __future__ import annotations

import typing
from dataclasses import fields, is_dataclass

from app.inference.answer import Answer
from tests.conftest import CAT_PHOTOS, photo, upload

URL = "/api/v1/predict"
JSON_TYPES = {"string": str, "number": (int, float), "integer": int, "boolean": bool, "object": dict, "array": list}


def document(client) -> dict:
    return client.get("/api/v1/openapi.json").json()


def predict_schema(client, status: str) -> dict:
    return document(client)["paths"][URL]["post"]["responses"][status]["content"]["application/json"]["schema"]


def nested_dataclass(hint):
    """The dataclass inside a hint (X, X | None, list[X]), if any."""
    if is_dataclass(hint):
        return hint
    return next((found for arg in typing.get_args(hint) if (found := nested_dataclass(arg))), None)


def undocumented_fields(cls, schema: dict, where: str = "answer") -> list[str]:
    """Fields of cls (and of the dataclasses inside it) missing from schema or without a description."""
    missing, hints = [], typing.get_type_hints(cls)
    for f in fields(cls):
        documented = schema.get("properties", {}).get(f.name)
        if documented is None or not documented.get("description"):
            missing.append(f"{where}.{f.name}")
            continue
        inner = nested_dataclass(hints[f.name])
        if inner is not None:
            missing += undocumented_fields(inner, documented.get("items", documented), f"{where}.{f.name}")
    return missing


def problems(value, schema: dict, where: str = "$") -> list[str]:
    """Where value breaks schema (type, enum, bounds, required keys, keys the schema never names)."""
    kind = schema["type"]
    if not isinstance(value, JSON_TYPES[kind]) or (isinstance(value, bool) and kind != "boolean"):
        return [f"{where}: {value!r} is not {kind}"]
    found = []
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if "minimum" in schema and value < schema["minimum"] or "maximum" in schema and value > schema["maximum"]:
        found.append(f"{where}: {value!r} is out of bounds")
    if kind == "array":
        for i, item in enumerate(value):
            found += problems(item, schema["items"], f"{where}[{i}]")
    if kind == "object":
        found += [f"{where}.{key}: required, absent" for key in schema.get("required", []) if key not in value]
        for key, item in value.items():
            inner = schema.get("properties", {}).get(key, schema.get("additionalProperties"))
            found += problems(item, inner, f"{where}.{key}") if inner else [f"{where}.{key}: not documented"]
    return found


def test_every_field_of_the_answer_is_in_the_openapi_document_with_its_description(client):
    assert undocumented_fields(Answer, predict_schema(client, "200")) == []


def test_a_field_missing_from_the_document_is_caught(client):
    schema = predict_schema(client, "200")
    del schema["properties"]["predictions"]["items"]["properties"]["nearest_imagenet_kind"]
    del schema["properties"]["timing_ms"]["properties"]["heatmap"]["description"]
    assert undocumented_fields(Answer, schema) == ["answer.predictions.nearest_imagenet_kind",
                                                   "answer.timing_ms.heatmap"]


def test_what_the_api_sends_is_what_its_document_says(client):
    files = [upload(CAT_PHOTOS[0], photo(CAT_PHOTOS[0])), upload("car.1.jpg", photo("car.1.jpg")),
             upload("notes.jpg", b"just some text")]
    answer = client.post(URL + "?heatmap=1", {"image": files}).json()
    assert {"heatmap", "nearest_imagenet_kind", "error"} <= {key for p in answer["predictions"] for key in p}
    assert problems(answer, predict_schema(client, "200")) == []


def test_an_answer_in_which_nothing_could_be_read_is_what_its_document_says(client):
    response = client.post(URL, {"image": [upload("notes.jpg", b"just some text")]})
    assert response.status_code == 415
    assert problems(response.json(), predict_schema(client, "200")) == []
    assert problems({"error": response.json()["error"]}, predict_schema(client, "415")) == []


def test_a_refused_request_is_what_its_document_says(client):
    response = client.post(URL, {"other": "no photo"})
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "missing_image", "message": response.json()["error"]["message"]}}
    assert problems(response.json(), predict_schema(client, "400")) == []


def test_the_checker_sees_an_undocumented_key_a_wrong_type_and_a_missing_field(client):
    schema = predict_schema(client, "200")
    answer = client.post(URL, {"image": [upload(CAT_PHOTOS[0], photo(CAT_PHOTOS[0]))]}).json()
    answer["predictions"][0]["mood"] = "sleepy"
    answer["predictions"][0]["confidence"] = "high"
    del answer["model"]["version"]
    assert sorted(problems(answer, schema)) == ["$.model.version: required, absent",
                                                "$.predictions[0].confidence: 'high' is not number",
                                                "$.predictions[0].mood: not documented"]
