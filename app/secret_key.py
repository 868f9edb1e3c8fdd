"""A SECRET_KEY that every worker of one installation shares, for local use.

Django signs the admin's session cookies with SECRET_KEY, so a random key per
process would log a person out whenever a request reaches another worker. Without
SECRET_KEY, a key is made once and kept in DATA_DIR/secret_key (mode 600); with
HTTPS=true (production) there is no such fallback: set SECRET_KEY to use the admin.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

FILE_NAME = "secret_key"
log = logging.getLogger(__name__)


def stored_key(data_dir: Path) -> str | None:
    """The key kept in data_dir, made now if there is none; None if data_dir is not writable."""
    path = data_dir / FILE_NAME
    try:
        if not path.exists():
            _create(path)
        return path.read_text().strip() or None
    except OSError as error:
        log.warning("cannot keep a SECRET_KEY in %s (%s): using a random key for this process", path,
                    error.strerror)
        return None


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
