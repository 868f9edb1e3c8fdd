"""Settings come from the environment, fail loudly when malformed, and pass --deploy checks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from app.env import env_bool, env_float, env_int, env_list, env_str
from tests.conftest import ROOT


@pytest.mark.parametrize("raw,expected", [("1", True), ("true", True), ("YES", True), ("0", False),
                                          ("off", False), ("", True)])
def test_env_bool(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", True) is expected


def test_env_bool_rejects_nonsense(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG", False)


def test_env_float(monkeypatch):
    monkeypatch.setenv("SECONDS", "2.5")
    assert env_float("SECONDS", 10.0) == 2.5
    for bad in ("soon", "nan", "-1"):
        monkeypatch.setenv("SECONDS", bad)
        with pytest.raises(ImproperlyConfigured, match="SECONDS"):
            env_float("SECONDS", 10.0)


def test_gunicorn_settings_are_checked_like_django_s(monkeypatch, tmp_path):
    import runpy

    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("THREADS", "4")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the config sets it; restored after
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["bind"] == "127.0.0.1:9001" and settings["threads"] == 4
    monkeypatch.setenv("WEB_CONCURRENCY", "two")
    with pytest.raises(ImproperlyConfigured, match="WEB_CONCURRENCY"):
        runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_env_int(monkeypatch):
    monkeypatch.setenv("N", "12")
    assert env_int("N", 3) == 12
    monkeypatch.setenv("N", "twelve")
    with pytest.raises(ImproperlyConfigured):
        env_int("N", 3)
    monkeypatch.setenv("N", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("N", 3, minimum=1)
    monkeypatch.delenv("N")
    assert env_int("N", 3) == 3


def test_env_list(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example , b.example,,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_secrets_can_come_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))
    assert env_str("SECRET_KEY") == "s3cr3t"


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "HTTPS", "ALLOWED_HOSTS")}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_deploy_check_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING",
                        SECRET_KEY="x" * 20 + "-a-long-random-production-secret-" + "y" * 20,
                        HTTPS="true", ALLOWED_HOSTS="catsdogs.example")
    assert result.returncode == 0, result.stderr + result.stdout


def test_it_starts_with_no_environment_at_all(tmp_path):
    result = run_manage("check", DATA_DIR=str(tmp_path / "var"))
    assert result.returncode == 0, result.stderr
    assert "SECRET_KEY is not set" not in result.stderr  # a local key was made instead


def shown_settings(**env: str) -> list[str]:
    result = run_manage("shell", "--no-imports", "-c", "from django.conf import settings as s; "
                        "print(s.SECRET_KEY, s.ADMIN_ENABLED)", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_without_secret_key_every_process_reads_the_one_kept_in_the_data_folder(tmp_path):
    from app.secret_key import ensure

    assert shown_settings(DATA_DIR=str(tmp_path))[1] == "True"
    assert not (tmp_path / "secret_key").exists()  # importing the settings (collectstatic in the image) makes none
    ensure(tmp_path)  # what gunicorn's master does before it forks the workers (startup.prepare)
    first, second = shown_settings(DATA_DIR=str(tmp_path)), shown_settings(DATA_DIR=str(tmp_path))
    key_file = tmp_path / "secret_key"
    assert first == second and key_file.read_text() == first[0]  # every worker signs sessions alike
    assert key_file.stat().st_mode & 0o777 == 0o600
    ensure(tmp_path)
    assert key_file.read_text() == first[0]  # made once, never replaced
    assert shown_settings(DATA_DIR=str(tmp_path), SECRET_KEY="given")[0] == "given"


def test_in_production_without_secret_key_the_admin_is_off(tmp_path):
    result = run_manage("shell", "--no-imports", "-c", "from django.conf import settings as s; print(s.ADMIN_ENABLED)",
                        HTTPS="true", DATA_DIR=str(tmp_path))
    assert result.stdout.split() == ["False"] and "the admin at /admin/ is off" in result.stderr
    start = [sys.executable, "-c", "from app.feedback.startup import prepare; prepare()"]  # as gunicorn's master
    clean = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    subprocess.run(start, cwd=ROOT, env={**clean, "HTTPS": "true", "DATA_DIR": str(tmp_path)}, check=True, timeout=120)
    assert (tmp_path / "feedback.sqlite3").exists()  # migrated
    assert not (tmp_path / "secret_key").exists()
    assert shown_settings(HTTPS="true", SECRET_KEY="a-real-production-secret")[1] == "True"


def test_malformed_settings_stop_the_start():
    result = run_manage("check", DEBUG="perhaps")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_database_url_names_postgresql_or_sqlite(tmp_path):
    from app.database import from_url

    postgres = from_url("postgres://catsdogs:p%40ss%2Fword@db.internal:6543/feedback?sslmode=require", tmp_path)
    assert (postgres["ENGINE"], postgres["NAME"], postgres["USER"], postgres["PASSWORD"], postgres["HOST"],
            postgres["PORT"], postgres["OPTIONS"]) == ("django.db.backends.postgresql", "feedback", "catsdogs",
                                                       "p@ss/word", "db.internal", "6543", {"sslmode": "require"})
    assert from_url("sqlite:////srv/var/x.sqlite3", tmp_path)["NAME"] == "/srv/var/x.sqlite3"
    default = from_url("", tmp_path)
    assert default["NAME"] == str(tmp_path / "feedback.sqlite3") and "journal_mode=WAL" in default["OPTIONS"]["init_command"]
    for bad in ("mysql://root:hunter2@db/x", "postgres://root:hunter2@db/"):
        with pytest.raises(ImproperlyConfigured) as refused:
            from_url(bad, tmp_path)
        assert "hunter2" not in str(refused.value)  # a password never reaches the log
