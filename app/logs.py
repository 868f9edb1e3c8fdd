"""Log lines a person can follow: every access line carries its request's id, every line
(the app's and gunicorn's own, in the master and in the workers) shows its time in one zone
with its offset, and with LOG_FORMAT=json every line is one JSON object.

Only the fields named in FIELDS ever leave a record: no image bytes, no file names,
no headers beyond the request id.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo

from app.env import env_choice, env_str, env_zone

# What an access record may carry, set by app.web.middleware.RequestLogMiddleware.
FIELDS = ("request_id", "method", "path", "status", "duration_ms", "labels")
FORMATS = ("text", "json")


def time_zone() -> str:
    """TIME_ZONE, UTC unless set: Django's zone (which it makes the workers' process zone)
    and every log line's. gunicorn's master never reads Django's settings, so each line's
    zone is given to its formatter instead of taken from the process."""
    return env_zone("TIME_ZONE", "UTC")


def stamp(created: float, zone: tzinfo) -> str:
    """ISO 8601 to the millisecond, with the offset: 2026-11-27T18:37:02.180+00:00"""
    return datetime.fromtimestamp(created, zone).isoformat(timespec="milliseconds")


def _zone(name: str) -> tzinfo:
    return timezone.utc if name == "UTC" else ZoneInfo(name)  # UTC needs no zone database


class TextFormatter(logging.Formatter):
    def __init__(self, zone: str = "UTC"):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self.zone = _zone(zone)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's name)
        return stamp(record.created, self.zone)


class JsonFormatter(logging.Formatter):
    def __init__(self, zone: str = "UTC"):
        super().__init__()
        self.zone = _zone(zone)

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": stamp(record.created, self.zone),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        line.update({key: getattr(record, key) for key in FIELDS if hasattr(record, key)})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line)


def logging_config(log_format: str, level: str, zone: str = "UTC") -> dict:
    """The dictConfig for Django's settings and gunicorn's logconfig_dict alike."""
    formatter = "app.logs.JsonFormatter" if log_format == "json" else "app.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": {"()": formatter, "zone": zone}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "main"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            # gunicorn's own access line (client address, user agent) is silenced: the app's has the id
            "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def from_environment() -> dict:
    """The logging setup named by LOG_FORMAT, LOG_LEVEL and TIME_ZONE: Django's and gunicorn's.
    Python's warnings go through it too, so they are not the one kind of line without a time."""
    logging.captureWarnings(True)
    return logging_config(env_choice("LOG_FORMAT", "text", FORMATS), env_str("LOG_LEVEL", "INFO"), time_zone())
