"""A SECRET_KEY that every worker of one installation shares, for local use.

Django signs the admin's session cookies with SECRET_KEY, so a random key per
process would log a person out whenever a request reaches another worker. Without
SECRET_KEY, gunicorn's master makes a key once, before the workers start
(app/feedback/startup.py), and keeps it in DATA_DIR/secret_key (mode 600); every
process reads it from there. It is made at start, never at import, so that building
the image (collectstatic) bakes no key into it. With HTTPS=true (production) there is
no such fallback: set SECRET_KEY to use the admin.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

FILE_NAME = "secret_key"
log = logging.getLogger(__name__)


def stored_key(data_dir: Path) -> str | None:
    """The key kept in data_dir, if one was made and this process may read it."""
    try:
        return (data_dir / FILE_NAME).read_text().strip() or None
    except OSError:
        return None


def ensure(data_dir: Path) -> None:
    """Make the key in data_dir unless there is one; a folder that cannot be written is logged
    (each process then uses a random key of its own, and admin logins do not last)."""
    path = data_dir / FILE_NAME
    try:
        if not path.exists():
            _create(path)
    except OSError as error:
        log.warning("cannot keep a SECRET_KEY in %s (%s)", path, error.strerror)


def _create(path: Path) -> None:
    """Write the key to a private temporary file, then link it into place: linking fails if
    another worker got there first, so every process ends up reading the same, complete key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(50))
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
