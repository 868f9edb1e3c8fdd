"""HTTP views. Thin: read the request, call `app.inference.service.classify`,
answer as JSON (API) or HTML (page). The page and the API share
`_predict`, so they cannot disagree."""

from __future__ import annotations

import functools
import hmac
from collections import Counter
from dataclasses import replace

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from app import monitoring
from app.feedback import service as feedback
from app.inference.answer import Answer, Refusal
from app.inference.model import Classifier, get_classifier
from app.inference.preprocess import FORMAT_NAMES
from app.inference.service import Upload, classify
from app.json_dataclasses import as_json
from app.web.errors import RequestError, json_error
from app.web.openapi import openapi_document

# The page's file input names every type we decode (app/inference/preprocess.py), not image/*:
# given concrete types, browsers convert what they can, and Safari and Android send HEIC as it is.
ACCEPT = ",".join(["image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff",
                   "image/heic", "image/heif", "image/avif", ".jpg", ".jpeg", ".png", ".webp", ".gif",
                   ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"])

# "Wrong? It's ...": the buttons under each answer, by the label each one sends
FEEDBACK_CHOICES = [("cat", "a cat"), ("dog", "a dog"), ("other", "neither")]

# Status for a request in which no file could be classified, by the first error's code.
_STATUS_BY_IMAGE_ERROR = {"too_many_pixels": 413, "unsupported_format": 415}


def classifier() -> Classifier:
    model = get_classifier(str(settings.MODEL_PATH), settings.INFERENCE_THREADS, settings.MODEL_VARIANT)
    _announce(model.contract.name, model.contract.version, model.variant.name)
    return model


@functools.cache
def _announce(name: str, version: str, variant: str) -> None:
    """The model info metric, set once per process and model."""
    monitoring.record_model(name, version, variant)


def _uploads(request: HttpRequest) -> list[Upload]:
    """The files of field `image`, after the whole-request checks."""
    uploads = _files(request, settings.MAX_FILES_PER_REQUEST)
    if not uploads:
        raise RequestError(400, "missing_image", "No photo received: send it in a form field named 'image'.")
    return uploads


def _files(request: HttpRequest, at_most: int) -> list[Upload]:
    """The files of field `image` (maybe none), after the checks of the whole request."""
    content_type = request.META.get("CONTENT_TYPE", "")
    if not content_type.startswith("multipart/form-data"):
        raise RequestError(415, "unsupported_media_type",
                           "Send the photos as multipart/form-data, in a field named 'image'.")
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > settings.MAX_UPLOAD_BYTES:
        raise RequestError(413, "request_too_large",
                           f"The upload is larger than {settings.MAX_UPLOAD_BYTES // (1024 * 1024)} MB in total.")
    try:
        files = request.FILES.getlist("image")
    except (TooManyFilesSent, RequestDataTooBig):
        raise RequestError(413, "too_many_files",
                           f"Send at most {settings.MAX_FILES_PER_REQUEST} photos at once.") from None
    except SuspiciousOperation:
        raise RequestError(400, "malformed_request", "The multipart body could not be parsed.") from None
    if len(files) > at_most:
        raise RequestError(413, "too_many_files",
                           f"Send at most {at_most} photo{'s' if at_most > 1 else ''} at once (got {len(files)}).")
    return [Upload(f.name, f.read()) for f in files]


def _predict(request: HttpRequest, heatmaps: bool) -> tuple[int, Answer | Refusal]:
    """(HTTP status, answer) for a prediction request; the page and the API both use it."""
    try:
        uploads = _uploads(request)
    except RequestError as error:
        return error.status, error.refusal()
    answer = classify(uploads, classifier(), settings.MAX_IMAGE_PIXELS, heatmaps=heatmaps)
    request.label_counts = dict(Counter(p.label for p in answer.predictions if p.label))  # for the log
    monitoring.record_answer(answer)
    failures = [p.error for p in answer.predictions if p.error]
    if len(failures) == len(answer.predictions):  # nothing could be classified
        return _STATUS_BY_IMAGE_ERROR.get(failures[0].code, 400), replace(answer, error=failures[0])
    return 200, answer


def _feedback(request: HttpRequest) -> tuple[int, feedback.Stored | Refusal]:
    """(HTTP status, answer) for feedback on one answer; the page's form and the API both use it."""
    try:
        files = _files(request, at_most=1)
        report = feedback.Report(
            predicted=request.POST.get("predicted", ""), correct=request.POST.get("correct", ""),
            model_version=request.POST.get("model_version", ""), request_id=request.POST.get("request_id", ""),
            consent=request.POST.get("consent", "") in ("true", "on", "1"),  # "on": an HTML checkbox
            image=files[0].content if files else None)
        stored = feedback.record(report, settings.MAX_IMAGE_PIXELS, settings.FEEDBACK_RETENTION_DAYS)
    except (RequestError, feedback.FeedbackError) as error:
        return error.status, Refusal.of(error.code, error.message)
    return 201, stored


@csrf_exempt  # the API acts for nobody (no session or cookie is read): a forged post is just a post
def api_feedback(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return json_error(405, "method_not_allowed", "Use POST with multipart/form-data.", allow="POST")
    status, answer = _feedback(request)
    return JsonResponse(as_json(answer), status=status)


@require_POST  # CSRF-protected: the page's form without JavaScript posts here
def page_feedback(request: HttpRequest) -> HttpResponse:
    status, answer = _feedback(request)
    if isinstance(answer, Refusal):
        context = {"title": "Your answer was not sent", "message": answer.error.message}
    else:
        kept = "and your photo were kept" if answer.photo_kept else "was kept, and no photo"
        context = {"title": "Thank you", "message": f"Your answer {kept}: it helps the model learn.",
                   "thanks": True}
    return render(request, "web/message.html", context, status=status)


@csrf_exempt  # the API acts for nobody (no session or cookie is read): there is nothing to forge
def api_predict(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return json_error(405, "method_not_allowed", "Use POST with multipart/form-data.", allow="POST")
    heatmaps = request.GET.get("heatmap", "") in ("1", "true")
    status, answer = _predict(request, heatmaps)
    return JsonResponse(as_json(answer), status=status)


@require_safe  # GET, and HEAD for uptime monitors that probe with it
def api_model(request: HttpRequest) -> JsonResponse:
    return JsonResponse(classifier().describe())


@require_safe  # GET, and HEAD for uptime monitors that probe with it
def api_openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document(settings.MAX_FILES_PER_REQUEST, settings.MAX_UPLOAD_BYTES,
                                         tuple(classifier().class_names), settings.FEEDBACK_RETENTION_DAYS))


def page(request: HttpRequest) -> HttpResponse:
    """The upload page; without JavaScript its form POSTs here and gets the answer as HTML."""
    context = {"model": classifier().describe(), "max_files": settings.MAX_FILES_PER_REQUEST,
               "max_megabytes": settings.MAX_UPLOAD_BYTES // (1024 * 1024), "accept": ACCEPT,
               "formats": FORMAT_NAMES, "feedback_choices": FEEDBACK_CHOICES,
               "retention_days": settings.FEEDBACK_RETENTION_DAYS}
    status = 200
    if request.method == "POST":
        status, answer = _predict(request, heatmaps=True)
        context["answer"] = answer
    elif request.method not in ("GET", "HEAD"):
        return HttpResponse("Method not allowed", status=405, headers={"Allow": "GET, HEAD, POST"})
    return render(request, "web/index.html", context, status=status)


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics. Open on the app's port by default (make serve, docker run); never
    open to the internet on a deployed host: with METRICS_PORT they are served on that
    port instead (Fly scrapes it over its private network), with METRICS_TOKEN they need
    `Authorization: Bearer <token>`, and with HTTPS=true and neither they are not served."""
    if settings.METRICS_PORT or (settings.HTTPS and not settings.METRICS_TOKEN):
        return json_error(404, "not_found", "No such page.")
    if settings.METRICS_TOKEN:
        offered = request.headers.get("Authorization", "")
        if not hmac.compare_digest(offered.encode(), f"Bearer {settings.METRICS_TOKEN}".encode()):
            return json_error(401, "unauthorized", "Send the metrics token as 'Authorization: Bearer <token>'.")
    body, content_type = monitoring.render()
    return HttpResponse(body, content_type=content_type)


@require_safe  # GET, and HEAD for uptime monitors that probe with it
def healthz(request: HttpRequest) -> JsonResponse:
    """Alive: the process answers HTTP."""
    return JsonResponse({"status": "ok"})


@require_safe  # GET, and HEAD for uptime monitors that probe with it
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready: the model is loaded and has answered a warm-up prediction."""
    try:
        model = classifier()
    except Exception as error:  # any load failure means "not ready", reported, not raised
        return json_error(503, "model_unavailable", f"The model could not be loaded: {type(error).__name__}")
    return JsonResponse({"status": "ready", "model": model.contract.name, "version": model.contract.version})
