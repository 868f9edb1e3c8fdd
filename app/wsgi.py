"""WSGI entry point for gunicorn (`gunicorn app.wsgi`); loads the model at start."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")
application = get_wsgi_application()

# Load and warm up the model now, so the first request is not the slow one
# and /readyz is true as soon as the worker accepts connections.
from app.web.views import classifier  # noqa: E402

classifier()
