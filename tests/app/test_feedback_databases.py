"""Feedback on both databases it runs on, through gunicorn as `make serve` starts it: a SQLite
file, and a PostgreSQL server started for the session (tests/app/databases.py). Migrations
run by themselves at start; many clients posting at once lose nothing, and no write fails
with "database is locked"; the management commands read the same database."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.server import Server, local_server
from tests.app.databases import sqlite_url
from tests.conftest import CAT_PHOTOS, ROOT, photo

pytestmark = pytest.mark.slow

CLIENTS, POSTS = 24, 96


@dataclass
class Served:
    server: Server
    env: dict[str, str]  # what the server runs with: manage.py reads the same database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"feedback-{request.param}")
    url = sqlite_url(folder) if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    with local_server(workers=2, DATABASE_URL=url, DATA_DIR=str(folder)) as server:
        server.wait_ready(timeout=120)
        yield Served(server, server.env)


def multipart(fields: dict[str, str], image: bytes | None) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    if image is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="p.jpg"\r\n'
                     f"Content-Type: image/jpeg\r\n\r\n".encode() + image + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post_feedback(base: str, fields: dict[str, str], image: bytes | None = None) -> tuple[int, dict]:
    body, content_type = multipart(fields, image)
    request = urllib.request.Request(base + "/api/v1/feedback", data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def manage(served: Served, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=served.env, capture_output=True,
                          text=True, timeout=120, check=True)


def exported(served: Served, folder: Path) -> dict[int, dict]:
    manage(served, "export_feedback", str(folder))
    with open(folder / "feedback.csv", newline="") as table:
        return {int(row["id"]): row for row in csv.DictReader(table)}


def test_many_clients_at_once_every_201_is_a_row_and_nothing_is_locked(served, tmp_path):
    marker = f"burst-{uuid.uuid4().hex[:8]}"
    cat = photo(CAT_PHOTOS[0])

    def one(i: int) -> tuple[int, dict, bool]:
        consent = i % 2 == 0  # half keep their photo: the larger writes
        fields = {"predicted": "dog", "correct": ("cat", "other")[i % 3 == 0], "model_version": marker,
                  "request_id": f"r{i}", "consent": "true" if consent else "false"}
        status, answer = post_feedback(served.server.url, fields, cat if consent else None)
        return status, answer, consent

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(one, range(POSTS)))
    assert [status for status, _, _ in results] == [201] * POSTS, [a for s, a, _ in results if s != 201][:3]
    ids = [answer["id"] for _, answer, _ in results]
    assert len(set(ids)) == POSTS
    assert all(answer["photo_kept"] is consent for _, answer, consent in results)

    rows = {i: row for i, row in exported(served, tmp_path / "export").items() if row["model_version"] == marker}
    assert set(rows) == set(ids)  # every 201 is a row, and only those
    kept = {answer["id"] for _, answer, consent in results if consent}
    assert {i for i, row in rows.items() if row["photo"]} == kept
    assert all((tmp_path / "export" / rows[i]["photo"]).stat().st_size > 1000 for i in kept)
    assert "database is locked" not in served.server.output()


def test_bad_feedback_is_refused_on_this_database_too(served):
    status, answer = post_feedback(served.server.url, {"predicted": "dog", "correct": "horse", "model_version": "x"})
    assert status == 400 and answer["error"]["code"] == "invalid_correct"
    status, answer = post_feedback(served.server.url, {"predicted": "dog", "correct": "cat", "model_version": "x",
                                                       "consent": "true"}, b"not a photo")
    assert status == 415 and answer["error"]["code"] == "unsupported_format"


def test_purge_removes_one_entry_by_id(served, tmp_path):
    fields = {"predicted": "cat", "correct": "dog", "model_version": "purge-test", "consent": "true"}
    status, answer = post_feedback(served.server.url, fields, photo(CAT_PHOTOS[1]))
    assert status == 201
    manage(served, "purge_feedback", "--id", str(answer["id"]))
    assert answer["id"] not in exported(served, tmp_path / "export")


def test_the_database_is_migrated_by_the_start_alone(served):
    shown = manage(served, "showmigrations", "feedback", "sessions", "auth", "admin").stdout
    assert "[ ]" not in shown and "[X] 0001_initial" in shown


def test_sqlite_runs_in_wal_mode(served):
    if "sqlite" not in served.env["DATABASE_URL"]:
        pytest.skip("PostgreSQL has no journal mode")
    import sqlite3

    path = served.env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert os.path.exists(path + "-wal")  # the workers write through the log, readers never wait


def test_the_start_made_the_key_every_worker_signs_sessions_with(served):
    key = Path(served.env["DATA_DIR"]) / "secret_key"  # no SECRET_KEY given, not HTTPS: a local key
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_text()) >= 50


def test_two_servers_starting_at_once_on_a_new_postgresql_database_both_come_up(postgres_url):
    """Two machines' first start against one empty database: the advisory lock makes them take
    turns at migrating instead of both creating the same tables."""
    import psycopg

    name = f"race_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url.replace("postgres://", "postgresql://"), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    servers = [local_server(workers=1, DATABASE_URL=url) for _ in range(2)]
    try:
        for server in servers:
            server.wait_ready(timeout=120)
        fields = {"predicted": "cat", "correct": "dog", "model_version": "race"}
        assert [post_feedback(server.url, fields)[0] for server in servers] == [201, 201]
    finally:
        for server in servers:
            server.stop()
