"""Request ids and access lines, response headers Django does not set itself, and a
per-client rate limit."""

from __future__ import annotations

import heapq
import ipaddress
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

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
    """Token bucket per client address on POSTs (predictions, feedback, forms), per process,
    and a much smaller one on the admin's login form, against password guessing.

    With N gunicorn workers a client may get up to N times the limit; it is a
    guard against one client hogging a small instance, not an accounting tool.
    """

    LOGIN_PATH = "/admin/login/"

    def __init__(self, get_response):
        self.get_response = get_response
        self.per_minute = settings.RATE_LIMIT_PER_MINUTE
        self.logins_per_minute = settings.LOGIN_RATE_LIMIT_PER_MINUTE
        self.proxies = Proxies(settings.TRUSTED_PROXY_HOPS, settings.ON_FLY)
        self.buckets = Buckets(self.per_minute)
        self.login_buckets = Buckets(self.logins_per_minute)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            key = bucket_key(client_address(request.META, self.proxies))
            if self.logins_per_minute and request.path == self.LOGIN_PATH:
                wait = self.login_buckets.take(key, time.monotonic())
                if wait:
                    return _refused(f"Too many login attempts: at most {self.logins_per_minute} a minute.", wait)
            if self.per_minute:
                wait = self.buckets.take(key, time.monotonic())
                if wait:
                    return _refused(f"Too many requests: at most {self.per_minute} a minute.", wait)
        return self.get_response(request)


def _refused(message: str, wait: int) -> HttpResponse:
    return json_error(429, "rate_limited", f"{message} Try again in {wait} s.", retry_after=str(wait))


@dataclass(frozen=True)
class Proxies:
    """The proxies in front of the app that the client address may be taken from."""

    hops: int  # how many append to X-Forwarded-For (TRUSTED_PROXY_HOPS); 0: clients connect directly
    on_fly: bool  # the one nearest the app is Fly's (FLY_APP_NAME is set in every Fly machine)


def client_address(meta: Mapping[str, str], proxies: Proxies) -> str:
    """The address the outermost trusted proxy saw the request come from.

    Every proxy appends the address it got the request from to X-Forwarded-For, so of N
    trusted proxies the outermost wrote the N-th entry from the right, and everything left
    of it is the client's own writing. Fly's proxy appends the app's own address after
    that, and sets Fly-Client-IP itself, replacing any the client sent. A header with
    fewer than N entries gives the connection's own address.

    Nothing here can tell a proxy's entries from a client's: the N-th entry is believed
    whoever sent the request. So with N >= 1 a client that reaches the app directly, not
    through those proxies, writes that entry itself and picks its own bucket. N must match
    the real deployment (TRUSTED_PROXY_HOPS), and the app must be reachable only through them.
    """
    direct = meta.get("REMOTE_ADDR", "")
    if proxies.hops == 0:
        return direct
    if proxies.on_fly and proxies.hops == 1:
        return meta.get("HTTP_FLY_CLIENT_IP", "").strip() or direct
    entries = [entry.strip() for entry in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    position = proxies.hops + (1 if proxies.on_fly else 0)
    return (entries[-position] or direct) if len(entries) >= position else direct


def bucket_key(address: str) -> str:
    """One bucket per IPv4 address, and per IPv6 /64: a single home or host is given a
    whole /64, so keying on full IPv6 addresses would give one client countless buckets."""
    try:
        ip = ipaddress.ip_address(_without_port(address))
    except ValueError:
        return address[:64]  # not an address (a misconfigured proxy): still one bounded key
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is the IPv4 client a.b.c.d
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def _without_port(address: str) -> str:
    """Some proxies write the client's port too (203.0.113.7:51234, [2001:db8::1]:443): one
    client must not get one bucket per connection. A bare IPv6 address has several colons."""
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    if address.count(":") == 1:
        return address.split(":", 1)[0]
    return address


@dataclass(slots=True)
class Bucket:
    tokens: float
    last: float  # time.monotonic() of the last refill
    full_at: float = 0.0  # when it will have filled up again, if left alone


class Buckets:
    """Token buckets by client, at most `capacity` of them.

    A bucket that has filled up again is the same as none, so only full ones are forgotten,
    found in the order they fill up (a heap on that time, not the order of last use: one
    drained bucket used long ago must not shield the full ones behind it). Any bucket idle
    for a minute is full, so the table holds about the clients of the last minute. While
    every bucket is still refilling, clients not in the table share one overflow bucket: a
    flood of new addresses slows new clients down but never hands a known client a fresh bucket.
    """

    OVERFLOW = "(new clients while the table is full)"  # no address looks like this

    def __init__(self, per_minute: int, capacity: int = 10_000):
        self.size, self.rate, self.capacity = float(per_minute), per_minute / 60.0, capacity
        self.table: dict[str, Bucket] = {}
        self.refills: list[tuple[float, str]] = []  # (full_at, key); an entry is stale once its bucket moved on
        self.lock = threading.Lock()

    def take(self, client: str, now: float) -> int:
        """0 if a token was taken, else the whole seconds until one is available."""
        with self.lock:
            key = self._admit(client, now)
            bucket = self.table.get(key) or Bucket(self.size, now)
            bucket.tokens, bucket.last = self._tokens(bucket, now), now
            taken = bucket.tokens >= 1.0
            if taken:
                bucket.tokens -= 1.0
            self.table[key] = bucket
            self._schedule(key, bucket)
            return 0 if taken else max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

    def _schedule(self, key: str, bucket: Bucket) -> None:
        bucket.full_at = bucket.last + (self.size - bucket.tokens) / self.rate
        heapq.heappush(self.refills, (bucket.full_at, key))
        if len(self.refills) > 2 * len(self.table) + 64:  # mostly stale entries: rebuild, to stay bounded
            self.refills = [(b.full_at, k) for k, b in self.table.items()]
            heapq.heapify(self.refills)

    def _admit(self, client: str, now: float) -> str:
        """The key this client counts under: its own, unless it is new and the table is full."""
        if client in self.table:
            return client
        while self.refills and self.refills[0][0] <= now:
            full_at, key = heapq.heappop(self.refills)
            bucket = self.table.get(key)
            if bucket is not None and bucket.full_at == full_at:
                del self.table[key]
        return client if len(self.table) < self.capacity else self.OVERFLOW

    def _tokens(self, bucket: Bucket, now: float) -> float:
        return min(self.size, bucket.tokens + (now - bucket.last) * self.rate)
