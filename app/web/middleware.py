"""Request ids and access lines, response headers Django does not set itself, and a
per-client rate limit."""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from app import monitoring
from app.web.errors import json_error

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
    "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'",
    "frame-ancestors 'none'",
])
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
REQUEST_ID_HEADER = "X-Request-ID"
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
access_log = logging.getLogger("app.access")


class RequestLogMiddleware:
    """Give every request an id (a proxy's X-Request-ID if it is sane, else a new one),
    return it in the response, and write one access line with it: method, path, status,
    duration and, for predictions, how many photos got each label."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request.request_id = offered if _GOOD_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        labels = getattr(request, "label_counts", None)
        monitoring.record_request(_endpoint(request), response.status_code)
        access_log.info("%s %s %s %.1fms id=%s%s", request.method, request.path, response.status_code, duration_ms,
                        request.request_id, f" labels={labels}" if labels else "",
                        extra={"request_id": request.request_id, "method": request.method, "path": request.path,
                               "status": response.status_code, "duration_ms": duration_ms,
                               **({"labels": labels} if labels else {})})
        return response


def _endpoint(request: HttpRequest) -> str:
    """The route's name, for the metrics: a bounded set of values whatever clients ask for.
    Django has resolved it already for any request that reached a view; only the health
    probes answered before routing (ProbeMiddleware) and unknown paths are looked up here."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.url_name or "unnamed"
    try:
        return resolve(request.path_info).url_name or "unnamed"
    except Resolver404:
        return "unmatched"


class ProbeMiddleware:
    """Answer /healthz and /readyz before host validation and HTTPS redirects.

    Container and platform health checks reach the process by its internal
    address (Host: 127.0.0.1 or a private IP) over plain HTTP; they must get
    the health answer, not a 400 for a disallowed host or a 301 to https.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD") and request.path in ("/healthz", "/readyz"):
            from app.web import views

            return (views.healthz if request.path == "/healthz" else views.readyz)(request)
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy (no inline script or style) and a Permissions-Policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class RateLimitMiddleware:
    """Token bucket per client address on prediction requests (POSTs), per process.

    With N gunicorn workers a client may get up to N times the limit; it is a
    guard against one client hogging a small instance, not an accounting tool.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.per_minute = settings.RATE_LIMIT_PER_MINUTE
        self.buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last refill)
        self.lock = threading.Lock()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.per_minute and request.method == "POST":
            wait = self._take(self._client(request))
            if wait:
                return json_error(429, "rate_limited",
                                  f"Too many requests: at most {self.per_minute} a minute. "
                                  f"Try again in {wait} s.", retry_after=str(wait))
        return self.get_response(request)

    def _client(self, request: HttpRequest) -> str:
        if settings.SECURE_PROXY_SSL_HEADER:  # behind a trusted proxy: its view of the client
            forwarded = request.META.get("HTTP_FLY_CLIENT_IP") or request.META.get("HTTP_X_FORWARDED_FOR", "")
            if forwarded:
                return forwarded.split(",")[0].strip()
        return request.META.get("REMOTE_ADDR", "")

    def _take(self, client: str) -> int:
        """0 if a token was taken, else the whole seconds until one is available."""
        now, rate = time.monotonic(), self.per_minute / 60.0
        with self.lock:
            if len(self.buckets) > 10_000:  # forget idle clients rather than grow without bound
                self.buckets.clear()
            tokens, last = self.buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self.buckets[client] = (tokens - 1.0, now)
                return 0
            self.buckets[client] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / rate))
