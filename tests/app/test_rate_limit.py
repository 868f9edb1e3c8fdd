"""The per-client rate limit on prediction requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from app.web.middleware import Buckets, Proxies, RateLimitMiddleware, bucket_key, client_address
from tests.conftest import ROOT


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


# --- which address counts: forged headers never do -------------------------------------
# The finding: 8 predictions at 1 a minute, each with a made-up address, were all
# accepted behind a proxy. The real client here is 203.0.113.7, as the proxy saw it.
PROXY, REAL = "10.0.0.1", "203.0.113.7"
MADE_UP = [f"198.51.100.{i}" for i in range(8)]


def behind(hops: int, on_fly: bool, per_minute: int = 1) -> RateLimitMiddleware:
    with override_settings(TRUSTED_PROXY_HOPS=hops, ON_FLY=on_fly):
        return limiter(per_minute)


def refused(middleware: RateLimitMiddleware, requests) -> int:
    return sum(middleware(request).status_code == 429 for request in requests)


def test_off_fly_a_forged_forwarded_for_or_fly_client_ip_is_ignored():
    middleware = behind(hops=1, on_fly=False)
    # the client writes its own X-Forwarded-For; the proxy appends what it saw
    forged_list = [post_from(PROXY, HTTP_X_FORWARDED_FOR=f"{fake}, {REAL}") for fake in MADE_UP]
    assert refused(middleware, forged_list) == 7
    forged_fly = [post_from(PROXY, HTTP_FLY_CLIENT_IP=fake, HTTP_X_FORWARDED_FOR=REAL) for fake in MADE_UP]
    assert refused(middleware, forged_fly) == 8  # same client, bucket already empty


def test_on_fly_the_proxy_s_fly_client_ip_counts_and_forwarded_for_does_not():
    middleware = behind(hops=1, on_fly=True)
    # Fly replaces any Fly-Client-IP the client sent; X-Forwarded-For ends with the app's own address
    forged = [post_from(PROXY, HTTP_FLY_CLIENT_IP=REAL, HTTP_X_FORWARDED_FOR=f"{fake}, {REAL}, 66.241.124.1")
              for fake in MADE_UP]
    assert refused(middleware, forged) == 7
    assert middleware(post_from(PROXY, HTTP_FLY_CLIENT_IP="192.0.2.9")).status_code == 200  # another client


def test_with_more_hops_the_outermost_proxy_s_entry_counts():
    middleware = behind(hops=2, on_fly=False)
    forged = [post_from(PROXY, HTTP_X_FORWARDED_FOR=f"{fake}, {REAL}, 10.0.0.2") for fake in MADE_UP]
    assert refused(middleware, forged) == 7
    on_fly = behind(hops=2, on_fly=True)  # a CDN in front of Fly: CDN's entry, then Fly's peer and its own
    forged = [post_from(PROXY, HTTP_FLY_CLIENT_IP="172.70.0.1",
                        HTTP_X_FORWARDED_FOR=f"{fake}, {REAL}, 172.70.0.1, 66.241.124.1") for fake in MADE_UP]
    assert refused(on_fly, forged) == 7


def test_without_a_proxy_no_header_is_believed():
    middleware = behind(hops=0, on_fly=False)
    forged = [post_from(REAL, HTTP_X_FORWARDED_FOR=fake, HTTP_FLY_CLIENT_IP=fake) for fake in MADE_UP]
    assert refused(middleware, forged) == 7


def test_a_request_that_passed_fewer_proxies_counts_by_its_connection():
    assert client_address({"REMOTE_ADDR": REAL, "HTTP_X_FORWARDED_FOR": "198.51.100.1"}, Proxies(2, False)) == REAL
    assert client_address({"REMOTE_ADDR": REAL}, Proxies(1, False)) == REAL
    assert client_address({"REMOTE_ADDR": REAL}, Proxies(1, True)) == REAL  # Fly's private network


def test_one_ipv6_network_is_one_client():
    middleware = behind(hops=0, on_fly=False)
    addresses = [f"2001:db8:1:2::{i:x}" for i in range(8)]
    assert refused(middleware, [post_from(a) for a in addresses]) == 7
    assert middleware(post_from("2001:db8:1:3::1")).status_code == 200
    assert bucket_key("::ffff:203.0.113.7") == bucket_key(REAL)


@pytest.mark.parametrize("environment,hops,on_fly", [
    ({}, 0, False), ({"HTTPS": "true"}, 1, False), ({"FLY_APP_NAME": "catsdogs"}, 1, True),
    ({"HTTPS": "true", "TRUSTED_PROXY_HOPS": "2"}, 2, False), ({"TRUST_PROXY_HEADERS": "false", "HTTPS": "true"}, 0, False),
])
def test_the_settings_trust_one_hop_behind_a_proxy_by_default(environment, hops, on_fly):
    clean = {k: v for k, v in os.environ.items() if k not in ("HTTPS", "FLY_APP_NAME", "TRUSTED_PROXY_HOPS",
                                                                "TRUST_PROXY_HEADERS")}
    shown = subprocess.run([sys.executable, "-c", "from app import settings as s; print(s.TRUSTED_PROXY_HOPS, s.ON_FLY)"],
                           env={**clean, **environment}, cwd=ROOT, capture_output=True, text=True, check=True)
    assert shown.stdout.split() == [str(hops), str(on_fly)]


# --- the table stays bounded and never forgets a live client ----------------------------

def test_a_flood_of_forged_addresses_does_not_refill_a_live_client():
    middleware = behind(hops=1, on_fly=False)
    assert middleware(post_from(PROXY, HTTP_X_FORWARDED_FOR=REAL)).status_code == 200
    flood = [post_from(PROXY, HTTP_X_FORWARDED_FOR=f"10.{i // 65536}.{i // 256 % 256}.{i % 256}, {REAL}")
             for i in range(12_000)]
    assert refused(middleware, flood) == 12_000
    assert len(middleware.buckets.table) == 1


def test_a_flood_of_real_new_addresses_does_not_refill_a_live_client(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("app.web.middleware.time.monotonic", lambda: clock[0])
    middleware = limiter(1)
    capacity = middleware.buckets.capacity
    assert middleware(post_from(REAL)).status_code == 200
    for i in range(capacity + 2000):  # more new clients than the table holds, within one minute
        middleware(post_from(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"))
    assert len(middleware.buckets.table) <= capacity + 1  # the overflow bucket
    assert middleware(post_from(REAL)).status_code == 429  # still empty: not forgotten
    clock[0] += 61.0  # a minute on, every bucket is full again and may go
    assert middleware(post_from("192.0.2.50")).status_code == 200  # a new client gets its own bucket
    assert middleware(post_from("192.0.2.50")).status_code == 429
    assert middleware(post_from(REAL)).status_code == 200


def test_idle_clients_are_forgotten_once_their_bucket_is_full(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("app.web.middleware.time.monotonic", lambda: clock[0])
    buckets = Buckets(per_minute=60, capacity=3)
    assert [buckets.take(c, clock[0]) for c in ("a", "b", "c")] == [0, 0, 0]
    assert buckets.take("d", clock[0]) == 0  # table full of refilling buckets: d shares the overflow one
    assert list(buckets.table) == ["a", "b", "c", Buckets.OVERFLOW]
    clock[0] += 1.0  # one token back: a, b and c are full again
    assert buckets.take("d", clock[0]) == 0
    assert list(buckets.table) == ["d"]


def test_a_drained_bucket_used_long_ago_does_not_shield_full_ones_behind_it():
    """Buckets go in the order they fill up, not in the order they were last used."""
    buckets = Buckets(per_minute=60, capacity=3)
    for _ in range(60):
        buckets.take("drained", 0.0)  # empty until a minute on
    assert buckets.take("b", 0.5) == buckets.take("c", 0.5) == 0  # full again at 1.5 s
    assert buckets.take("d", 2.0) == 0
    assert set(buckets.table) == {"drained", "d"}  # b and c went; d has a bucket of its own
    assert buckets.table["drained"].tokens == 0  # and the drained client is not forgotten


def test_the_table_and_its_refill_times_stay_bounded_under_a_steady_stream():
    buckets = Buckets(per_minute=60, capacity=100)
    for i in range(20_000):  # one client returning again and again, and new ones arriving
        buckets.take("regular", i * 0.01)
        buckets.take(f"client {i}", i * 0.01)
    assert len(buckets.table) <= 100 + 1
    assert len(buckets.refills) <= 2 * len(buckets.table) + 64


@pytest.mark.parametrize("entry,key", [
    ("203.0.113.7:51234", "203.0.113.7"), ("[2001:db8::1]:443", "2001:db8::/64"),
    ("[2001:db8::1]", "2001:db8::/64"), ("2001:db8::1", "2001:db8::/64"), ("[::ffff:203.0.113.7]:80", "203.0.113.7"),
])
def test_a_forwarded_address_with_a_port_counts_as_the_address(entry, key):
    assert bucket_key(entry) == key


def test_a_client_behind_a_proxy_that_writes_ports_gets_one_bucket_not_one_per_port():
    middleware = behind(hops=1, on_fly=False)
    requests = [post_from(PROXY, HTTP_X_FORWARDED_FOR=f"{REAL}:{port}") for port in (51234, 51235, 51236)]
    assert refused(middleware, requests) == 2


def test_with_trusted_hops_a_client_reaching_the_app_directly_picks_its_own_address():
    """What the docstring and README warn of: TRUSTED_PROXY_HOPS must match the deployment."""
    proxies = Proxies(hops=1, on_fly=False)
    direct = {"REMOTE_ADDR": "192.0.2.9", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}  # no proxy wrote this
    assert client_address(direct, proxies) == "198.51.100.1"
    assert client_address({"REMOTE_ADDR": "192.0.2.9"}, proxies) == "192.0.2.9"
