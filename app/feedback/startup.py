"""Start-up: `make serve` and the container migrate before any worker exists.

gunicorn.conf.py calls `prepare()` in the master, before it forks the workers, so
workers never race to create tables or the local SECRET_KEY. Several machines starting at once against one
PostgreSQL (Fly runs `manage.py migrate` as its release command first, but a restart
may still meet another) take turns on an advisory lock.
"""

from __future__ import annotations

import os
from pathlib import Path

from app import secret_key
from app.database import data_dir
from app.env import env_bool, env_str

_LOCK = 7_719_001  # any fixed number: the advisory lock's name among this database's users


def prepare() -> None:
    """What the master does once before forking: the local SECRET_KEY (without one set,
    outside production), then the migrations."""
    if not env_str("SECRET_KEY") and not env_bool("HTTPS", False):
        secret_key.ensure(data_dir())
    migrate()


def migrate() -> None:
    """In the master's own process: what it imports here (Django, numpy and OpenCV through the
    settings) the workers it forks inherit, so they start faster than from a bare interpreter."""
    import django
    from django.core.management import call_command
    from django.db import connection, connections

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")
    django.setup()
    try:
        if connection.vendor == "sqlite":  # a fresh clone or an empty volume has no folder for it yet
            Path(connection.settings_dict["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [_LOCK])
        call_command("migrate", interactive=False, verbosity=0, skip_checks=True)
        from django.conf import settings

        from app.feedback.service import purge_older_than

        purge_older_than(settings.FEEDBACK_RETENTION_DAYS)  # a site stopped for months keeps nothing past it
    finally:
        connections.close_all()  # a forked worker must not share the master's connection (closing frees the lock)
