"""Fixtures of the feedback tests: the database of the in-process test client (SQLite in
the session's DATA_DIR, migrated once), and the two real databases served by gunicorn."""

from __future__ import annotations

import pytest

from tests.app.databases import postgres_server


@pytest.fixture(scope="session")
def migrated():
    """The in-process database (SQLite under the session's DATA_DIR), migrated as at start."""
    from app.feedback.startup import migrate

    migrate()


@pytest.fixture(scope="session")
def postgres_url():
    """DATABASE_URL of a PostgreSQL server started for this session (skipped where there is none)."""
    try:
        with postgres_server() as url:
            yield url
    except FileNotFoundError as error:
        pytest.skip(f"no PostgreSQL server for the tests: {error}")
