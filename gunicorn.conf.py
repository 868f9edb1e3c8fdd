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

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "16"))
timeout = int(os.environ.get("WORKER_TIMEOUT", "30"))  # a worker silent this long is restarted
graceful_timeout = 10
keepalive = 5
max_requests = int(os.environ.get("MAX_REQUESTS", "0"))  # 0: workers are not recycled
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'  # no bodies, no query strings beyond the path
wsgi_app = "app.wsgi:application"

# A client that stops sending its upload for this long loses the connection,
# so stalled uploads cannot hold every thread (benchmarks/soak.py checks it).
upload_idle_timeout = float(os.environ.get("UPLOAD_IDLE_TIMEOUT", "10"))


def pre_request(worker, req):
    sock = getattr(getattr(req, "unreader", None), "sock", None)
    if sock is not None:
        sock.settimeout(upload_idle_timeout)
