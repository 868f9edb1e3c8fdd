"""Log lines a person can follow: every access line carries its request's id, and with
LOG_FORMAT=json every line (access, errors, gunicorn's own) is one JSON object.

Only the fields named in FIELDS ever leave a record: no image bytes, no file names,
no headers beyond the request id.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

# What an access record may carry, set by app.web.middleware.RequestLogMiddleware.
FIELDS = ("request_id", "method", "path", "status", "duration_ms", "labels")
FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        line.update({key: getattr(record, key) for key in FIELDS if hasattr(record, key)})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line)


def logging_config(log_format: str, level: str) -> dict:
    """The dictConfig for Django's settings and gunicorn's logconfig_dict alike."""
    formatter = ({"()": "app.logs.JsonFormatter"} if log_format == "json"
                 else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "main"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            # gunicorn's own access line (client address, user agent) is silenced: the app's has the id
            "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
