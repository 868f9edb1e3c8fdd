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

from app.env import env_choice, env_float, env_int, env_str  # checked: a malformed value stops start-up
from app.logs import FORMATS, logging_config

bind = f"{env_str('HOST', '127.0.0.1')}:{env_int('PORT', 8000, minimum=1)}"
workers = env_int("WEB_CONCURRENCY", 2, minimum=1)
worker_class = "gthread"
threads = env_int("THREADS", 16, minimum=1)
timeout = env_int("WORKER_TIMEOUT", 30, minimum=1)  # a worker silent this long is restarted
graceful_timeout = 10
keepalive = 5
max_requests = env_int("MAX_REQUESTS", 0)  # 0: workers are not recycled
accesslog = None  # the app writes one access line per request, with its request id (app/web/middleware.py)
logconfig_dict = logging_config(env_choice("LOG_FORMAT", "text", FORMATS), env_str("LOG_LEVEL", "INFO"))
wsgi_app = "app.wsgi:application"

# A client that stops sending its upload for this long loses the connection,
# so stalled uploads cannot hold every thread (benchmarks/soak.py checks it).
upload_idle_timeout = env_float("UPLOAD_IDLE_TIMEOUT", 10.0)


def pre_request(worker, req):
    sock = getattr(getattr(req, "unreader", None), "sock", None)
    if sock is not None:
        sock.settimeout(upload_idle_timeout)
