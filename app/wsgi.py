"""WSGI entry point for gunicorn (`gunicorn app.wsgi`); loads the model at start."""

import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")
application = get_wsgi_application()

# Load and warm up the model now, so the first request is not the slow one
# and /readyz is true as soon as the worker accepts connections.
from app.inference.model import ModelLoadError  # noqa: E402
from app.web.views import classifier  # noqa: E402

WORKER_BOOT_ERROR = 3  # gunicorn's exit code for a worker that cannot start: the master stops too

try:
    classifier()
except ModelLoadError as error:
    logging.getLogger("app").error("%s", error)  # one line: which file, and why
    raise SystemExit(WORKER_BOOT_ERROR) from None
