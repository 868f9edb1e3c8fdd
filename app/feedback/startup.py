"""Migrations at start: `make serve` and the container run them before any worker exists.

gunicorn.conf.py calls `migrate()` in the master, before it forks the workers, so
workers never race to create tables. Several machines starting at once against one
PostgreSQL (Fly runs `manage.py migrate` as its release command first, but a restart
may still meet another) take turns on an advisory lock.
"""

from __future__ import annotations

import os

_LOCK = 7_719_001  # any fixed number: the advisory lock's name among this database's users


def migrate() -> None:
    import django
    from django.core.management import call_command
    from django.db import connection, connections

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")
    django.setup()
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [_LOCK])
        call_command("migrate", interactive=False, verbosity=0, skip_checks=True)
    finally:
        connections.close_all()  # a forked worker must not share the master's connection (closing frees the lock)
