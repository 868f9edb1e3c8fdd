"""Every API error has the same JSON shape, a Refusal of app/inference/answer.py:
{"error": {"code": ..., "message": ...}}."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from app.inference.answer import Refusal
from app.json_dataclasses import as_json


class RequestError(Exception):
    """A request that is bad as a whole (not one bad file among several)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def refusal(self) -> Refusal:
        return Refusal.of(self.code, self.message)


def json_error(status: int, code: str, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse(as_json(Refusal.of(code, message)), status=status)
    for name, value in headers.items():
        response[name.replace("_", "-").title()] = value
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(404, "not_found", f"Nothing at {request.path}. See /api/v1/openapi.json.")


def server_error(request: HttpRequest) -> JsonResponse:
    return json_error(500, "internal_error", "Something went wrong on our side; the error was logged.")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(400, "bad_request", "The request could not be understood.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Only the page's form is CSRF-protected, so answer as a page."""
    message = "The form expired or came from another site. Reload the page and try again."
    return render(request, "web/message.html", {"title": "Please reload the page", "message": message},
                  status=403)
