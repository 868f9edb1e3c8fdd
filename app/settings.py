"""Django settings, all from the environment with safe defaults.

Nothing here needs setting to run locally or in `docker run`: DEBUG is off,
hosts default to localhost, feedback goes to SQLite under DATA_DIR (var/), and
without SECRET_KEY the workers share a key kept in DATA_DIR (app/secret_key.py).
With HTTPS=true (production) and no SECRET_KEY, the admin's logins are switched
off rather than signed with a key that changes per process.
See README "Configuration" for the full list.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from app.env import env_bool, env_int, env_list, env_str, max_image_pixels, max_upload_bytes, model_variant
from app import database, logs, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
HTTPS = env_bool("HTTPS", False)
DATA_DIR = database.data_dir()  # the SQLite database and the local key
SECRET_KEY = env_str("SECRET_KEY")
# The admin signs its session cookies with SECRET_KEY: in production only with one that is set.
ADMIN_ENABLED = bool(SECRET_KEY) or not HTTPS
if not SECRET_KEY:
    SECRET_KEY = (None if HTTPS else secret_key.stored_key(DATA_DIR)) or secrets.token_urlsafe(50)
    if HTTPS:
        logging.getLogger(__name__).warning("SECRET_KEY is not set: using a random key for this process, "
                                            "and the admin at /admin/ is off until it is set")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
                  "app.web", "app.feedback"]
MIDDLEWARE = [
    "app.web.middleware.RequestLogMiddleware",
    "app.web.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "app.web.middleware.SecurityHeadersMiddleware",
    "app.web.middleware.RateLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "app.urls"
WSGI_APPLICATION = "app.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                       "django.contrib.auth.context_processors.auth",
                                       "django.contrib.messages.context_processors.messages"]},
}]
# Feedback only (app/feedback): SQLite in DATA_DIR unless DATABASE_URL names another (app/database.py)
DATABASES = {"default": database.from_url(env_str("DATABASE_URL"), DATA_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SESSION_COOKIE_AGE = 8 * 3600  # an admin login lasts a working day
FEEDBACK_RETENTION_DAYS = env_int("FEEDBACK_RETENTION_DAYS", 90, minimum=1)  # purge_feedback's default
LOGIN_RATE_LIMIT_PER_MINUTE = env_int("LOGIN_RATE_LIMIT_PER_MINUTE", 5)  # admin login attempts per client
USE_TZ = True
TIME_ZONE = logs.time_zone()  # UTC unless set; Django makes it the process's zone too

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                    if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- HTTPS and headers (on for real deployments: HTTPS=true) --------------------
TRUST_PROXY_HEADERS = env_bool("TRUST_PROXY_HEADERS", HTTPS)  # a proxy in front sets X-Forwarded-Proto
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_PROXY_HEADERS else None
# Who the client is, for the rate limit (app/web/middleware.client_address): the address the
# outermost of these proxies saw. Fly sets FLY_APP_NAME in every machine, and its proxy Fly-Client-IP.
ON_FLY = bool(env_str("FLY_APP_NAME"))
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 1 if TRUST_PROXY_HEADERS or ON_FLY else 0)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = False  # the page's script reads the token for fetch()

# --- the model and its limits ---------------------------------------------------
MODEL_PATH = Path(env_str("MODEL_PATH", str(BASE_DIR / "app" / "model" / "catsdogs.onnx")))
INFERENCE_THREADS = env_int("INFERENCE_THREADS", 1, minimum=1)  # per gunicorn worker
MODEL_VARIANT = model_variant()  # auto: int8 where the CPU gains from it
MAX_FILES_PER_REQUEST = env_int("MAX_FILES_PER_REQUEST", 16, minimum=1)
MAX_UPLOAD_BYTES = max_upload_bytes()  # whole request body
MAX_IMAGE_PIXELS = max_image_pixels()
METRICS_PORT = env_int("METRICS_PORT", 0)  # 0: /metrics on the app's own port (see app/web/views.metrics)
METRICS_TOKEN = env_str("METRICS_TOKEN")  # or METRICS_TOKEN_FILE; a bearer token for /metrics
RATE_LIMIT_PER_MINUTE = env_int("RATE_LIMIT_PER_MINUTE", 120)  # predictions per client and worker; 0 = off

# Uploads stay in memory and are never written to disk: the request-size check
# in the view runs first, so the memory handler always takes the whole file.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # non-file form fields
DATA_UPLOAD_MAX_NUMBER_FILES = 4 * MAX_FILES_PER_REQUEST

LOGGING = logs.from_environment()  # LOG_FORMAT=json: one JSON object per line; times in TIME_ZONE
CSRF_FAILURE_VIEW = "app.web.errors.csrf_failure"
