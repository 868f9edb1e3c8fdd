"""The OpenAPI 3.1 description of the JSON API, served at /api/v1/openapi.json. The answers'
schemas are made from their classes (app/inference/answer.py), so they cannot disagree."""

from __future__ import annotations

import functools

from app.feedback.service import Stored
from app.inference.answer import CLASSES, Answer, Refusal
from app.inference.preprocess import FORMAT_NAMES
from app.json_dataclasses import schema_of


def _answer(class_names: tuple[str, ...]) -> dict:
    return schema_of(Answer, {CLASSES: list(class_names)})


_REQUEST_ID = {"description": "The request's id: the X-Request-ID the client or proxy sent (1-128 of "
                              "A-Z a-z 0-9 . _ : -), else a new one. It is also in the request's access log line.",
               "schema": {"type": "string", "maxLength": 128}}


def _error_response(description: str) -> dict:
    return {"description": description, "headers": {"X-Request-ID": _REQUEST_ID},
            "content": {"application/json": {"schema": schema_of(Refusal)}}}


def _with_request_id(paths: dict) -> dict:
    """Every operation takes an optional X-Request-ID header and returns one."""
    for operations in paths.values():
        for operation in operations.values():
            operation.setdefault("parameters", []).append({"name": "X-Request-ID", "in": "header",
                                                           "required": False, **_REQUEST_ID})
            for response in operation["responses"].values():
                response.setdefault("headers", {"X-Request-ID": _REQUEST_ID})
    return paths


def _feedback(max_bytes: int, class_names: tuple[str, ...], retention_days: int) -> dict:
    label = {"type": "string", "enum": list(class_names)}
    return {"post": {
        "summary": "Say what a photo really shows (the answer was wrong)",
        "description": "Stores the two labels, the model version, the request id and the time. The photo is "
                       "kept only with consent=true: re-encoded as a JPEG of at most 512 px without any EXIF "
                       f"(no GPS, no camera), for {retention_days} days. Without consent it is not read at all.",
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["predicted", "correct", "model_version"],
            "properties": {
                "predicted": {**label, "description": "The label the model gave."},
                "correct": {**label, "description": "What the photo really shows."},
                "model_version": {"type": "string", "maxLength": 64,
                                  "description": "`model.version` of the prediction's answer."},
                "request_id": {"type": "string", "maxLength": 128,
                               "description": "The prediction's X-Request-ID, to find it in the log."},
                "consent": {"type": "string", "enum": ["true", "false"], "default": "false",
                            "description": "true: keep the photo to improve the model."},
                "image": {"type": "string", "format": "binary",
                          "description": f"The photo (one {FORMAT_NAMES} file); needed with consent=true, "
                                         "ignored without."}}}}}},
        "responses": {
            "201": {"description": "Stored.", "content": {"application/json": {"schema": schema_of(Stored)}}},
            "400": _error_response("A label or the model version is missing or unknown, or the photo is "
                                   "missing (with consent) or unreadable."),
            "405": _error_response("Not a POST."),
            "413": _error_response(f"Over {max_bytes} bytes, more than one file or too many pixels."),
            "415": _error_response("Not multipart/form-data, or not a supported image."),
            "429": _error_response("Rate limited; see Retry-After."),
        },
    }}


@functools.lru_cache(maxsize=8)  # its arguments are fixed for a process's life: made once, not per request
def openapi_document(max_files: int, max_bytes: int, class_names: tuple[str, ...], retention_days: int) -> dict:
    """The document for these limits and the served model's classes (from its contract)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Cats, dogs or neither", "version": "1",
                 "description": "Classify photos as cat, dog or other, with calibrated confidence."},
        "paths": _with_request_id({
            "/api/v1/predict": {"post": {
                "summary": f"Classify 1 to {max_files} photos",
                "parameters": [{"name": "heatmap", "in": "query", "required": False,
                                "schema": {"type": "string", "enum": ["0", "1"]},
                                "description": "1 adds the class activation map for each photo."}],
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": ["image"],
                    "properties": {"image": {"type": "array", "maxItems": max_files,
                                             "items": {"type": "string", "format": "binary",
                                                       "description": f"A {FORMAT_NAMES} file."}}}}}}},
                "responses": {
                    "200": {"description": "Every file answered (some may carry an error).",
                            "content": {"application/json": {"schema": _answer(class_names)}}},
                    "400": _error_response("Bad request, or no file was a readable image."),
                    "405": _error_response("Not a POST."),
                    "413": _error_response(f"Over {max_bytes} bytes, too many files or too many pixels."),
                    "415": _error_response("Not multipart/form-data, or no file was a supported image."),
                    "429": _error_response("Rate limited; see Retry-After."),
                },
            }},
            "/api/v1/feedback": _feedback(max_bytes, class_names, retention_days),
            "/api/v1/model": {"get": {"summary": "The model's metadata and test metrics",
                                      "responses": {"200": {"description": "Model card as JSON"}}}},
            "/healthz": {"get": {"summary": "Alive", "responses": {"200": {"description": "ok"}}}},
            "/readyz": {"get": {"summary": "Model loaded", "responses": {
                "200": {"description": "ready"}, "503": _error_response("Model not loaded")}}},
        }),
    }
