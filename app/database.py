"""Where feedback is stored: SQLite under DATA_DIR by default, or the database DATABASE_URL names.

DATABASE_URL is parsed here with the standard library (two schemes do not justify a
dependency): postgres://user:password@host:port/name?sslmode=require, or
sqlite:////absolute/path.sqlite3 (sqlite:///relative/path.sqlite3).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from app.env import env_str

SQLITE_FILE = "feedback.sqlite3"
# Seconds a writer waits for another's lock before SQLite gives up with "database is locked".
SQLITE_BUSY_SECONDS = 20


def data_dir() -> Path:
    """DATA_DIR: the default SQLite database and the local SECRET_KEY; var/ of the checkout by default."""
    return Path(env_str("DATA_DIR", str(Path(__file__).resolve().parent.parent / "var")))


def sqlite(path: Path) -> dict:
    """SQLite that several gunicorn workers and threads can write at once: WAL lets readers
    go on while one writes, and IMMEDIATE transactions take the write lock when they begin,
    so a writer waits (up to the timeout) instead of failing when it upgrades a read lock."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "timeout": SQLITE_BUSY_SECONDS,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def from_url(url: str, data_dir: Path) -> dict:
    """Django's DATABASES["default"] for DATABASE_URL, or SQLite in data_dir when it is empty."""
    if not url:
        return sqlite(data_dir / SQLITE_FILE)
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        name = unquote(parts.path)[1:]  # sqlite:///x is the relative path x, sqlite:////x the absolute /x
        if not name:
            raise ImproperlyConfigured("DATABASE_URL=sqlite:///PATH needs a file path")
        return sqlite(Path(name))
    if parts.scheme in ("postgres", "postgresql"):
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured("DATABASE_URL must name the database: postgres://user:password@host:5432/NAME")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": unquote(parts.hostname or ""),
            "PORT": str(parts.port or ""),
            "OPTIONS": dict(parse_qsl(parts.query)),  # e.g. sslmode=require, passed to libpq
            "CONN_MAX_AGE": 60,  # a worker's threads reuse their connection instead of one per request
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfigured(f"DATABASE_URL must start with postgres:// or sqlite:///, not {parts.scheme + '://' if parts.scheme else 'that'}")
