"""The per-client rate limit on prediction requests."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from app.web.middleware import RateLimitMiddleware


def limiter(per_minute: int) -> RateLimitMiddleware:
    with override_settings(RATE_LIMIT_PER_MINUTE=per_minute):
        return RateLimitMiddleware(lambda request: HttpResponse("ok"))


def post_from(address: str, **headers):
    return RequestFactory().post("/api/v1/predict", REMOTE_ADDR=address, **headers)


def test_it_answers_429_with_retry_after_past_the_limit():
    middleware = limiter(3)
    statuses = [middleware(post_from("1.2.3.4")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = middleware(post_from("1.2.3.4"))
    assert json.loads(refused.content)["error"]["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1


def test_clients_are_counted_separately():
    middleware = limiter(1)
    assert middleware(post_from("1.1.1.1")).status_code == 200
    assert middleware(post_from("2.2.2.2")).status_code == 200
    assert middleware(post_from("1.1.1.1")).status_code == 429


def test_tokens_come_back_with_time(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("app.web.middleware.time.monotonic", lambda: clock[0])
    middleware = limiter(60)  # one a second
    for _ in range(60):
        assert middleware(post_from("9.9.9.9")).status_code == 200
    assert middleware(post_from("9.9.9.9")).status_code == 429
    clock[0] += 1.0
    assert middleware(post_from("9.9.9.9")).status_code == 200


def test_pages_and_probes_are_not_limited():
    middleware = limiter(1)
    for _ in range(5):
        assert middleware(RequestFactory().get("/", REMOTE_ADDR="5.5.5.5")).status_code == 200


def test_zero_turns_it_off():
    middleware = limiter(0)
    assert all(middleware(post_from("7.7.7.7")).status_code == 200 for _ in range(50))


def test_behind_a_trusted_proxy_the_forwarded_client_counts():
    with override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        middleware = limiter(1)
        assert middleware(post_from("10.0.0.1", HTTP_FLY_CLIENT_IP="8.8.8.8")).status_code == 200
        assert middleware(post_from("10.0.0.1", HTTP_FLY_CLIENT_IP="4.4.4.4")).status_code == 200
        assert middleware(post_from("10.0.0.1", HTTP_FLY_CLIENT_IP="8.8.8.8")).status_code == 429
