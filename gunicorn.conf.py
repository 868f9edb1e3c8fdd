"""gunicorn settings, from the environment (used by `make serve` and the container).

gthread workers: each worker holds one onnxruntime session (inference is
serialised per worker, one thread each by default), while its threads read
uploads, decode and answer; a slow upload occupies one thread, not a worker.
Threads are cheap, so there are more than the CPU needs: stalled uploads
(dropped after UPLOAD_IDLE_TIMEOUT) must not take every thread. More stalled
uploads than threads delay other clients by up to
ceil(stalled / threads) x UPLOAD_IDLE_TIMEOUT; against a deliberate flood,
put a request-buffering proxy in front.
"""

import os
import tempfile
from pathlib import Path

from app import logs
from app.env import env_float, env_int, env_str  # checked: a malformed value stops start-up

bind = f"{env_str('HOST', '127.0.0.1')}:{env_int('PORT', 8000, minimum=1)}"
workers = env_int("WEB_CONCURRENCY", 2, minimum=1)
worker_class = "gthread"
threads = env_int("THREADS", 16, minimum=1)
timeout = env_int("WORKER_TIMEOUT", 30, minimum=1)  # a worker silent this long is restarted
graceful_timeout = 10
keepalive = 5
max_requests = env_int("MAX_REQUESTS", 0)  # 0: workers are not recycled
accesslog = None  # the app writes one access line per request, with its request id (app/web/middleware.py)
logconfig_dict = logs.from_environment()  # the same lines as the app's: one format, one time zone
wsgi_app = "app.wsgi:application"

# A client that stops sending its upload for this long loses the connection,
# so stalled uploads cannot hold every thread (benchmarks/soak.py checks it).
upload_idle_timeout = env_float("UPLOAD_IDLE_TIMEOUT", 10.0)


def pre_request(worker, req):
    sock = getattr(getattr(req, "unreader", None), "sock", None)
    if sock is not None:
        sock.settimeout(upload_idle_timeout)


# Prometheus multiprocess mode: each worker writes its metrics to files here, a scrape adds
# them up (app/monitoring.py). Set before any worker imports prometheus_client.
metrics_dir = env_str("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="catsdogs-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
metrics_port = env_int("METRICS_PORT", 0)  # 0: /metrics on the app's port; else only on this one


def _halt_quietly(arbiter) -> None:
    """When every worker fails to boot (a model that cannot be loaded), gunicorn halts on the
    first one's exit code 3, and its halt() reaps the others: the next exit code 3 raises its
    HaltServer again inside halt(), and the master dies with a traceback and exit code 1
    instead of 3, depending on which worker got there first. Once halting, that second
    HaltServer says nothing new, so it is dropped (the worker is already reaped)."""
    from gunicorn.errors import HaltServer

    reap, halt = arbiter.reap_workers, arbiter.halt
    halting = []

    def reap_workers():
        try:
            reap()
        except HaltServer:
            if not halting:
                raise

    def halting_halt(*args, **kwargs):
        halting.append(True)
        halt(*args, **kwargs)

    arbiter.reap_workers, arbiter.halt = reap_workers, halting_halt


def on_starting(server):
    """Start from no metric files: figures of an earlier run must not be added in. Only the
    client's own *.db files go, so a folder given in PROMETHEUS_MULTIPROC_DIR is never emptied.
    Then the local SECRET_KEY and the feedback database's migrations, once, before any worker
    is forked (app/feedback/startup.py)."""
    _halt_quietly(server)
    Path(metrics_dir).mkdir(parents=True, exist_ok=True)
    for stale in Path(metrics_dir).glob("*.db"):
        stale.unlink()
    from app.feedback.startup import prepare

    prepare()


def when_ready(server):
    """With METRICS_PORT, the master serves every worker's metrics on that port alone."""
    if metrics_port:
        from prometheus_client import start_http_server

        from app.monitoring import registry

        start_http_server(metrics_port, addr=env_str("HOST", "127.0.0.1"), registry=registry())


def child_exit(server, worker):
    """Forget the live gauges (the model info) of a worker that is gone."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
