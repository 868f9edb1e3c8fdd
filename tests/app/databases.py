"""The two databases feedback runs on, for real: a SQLite file, and a throwaway PostgreSQL
server started here from Debian's postgresql package (`make test` installs it as root).

The PostgreSQL cluster lives in a temporary folder, listens on a free loopback port, trusts
local connections and is stopped and removed at the end of the session. As root (initdb
refuses to run as root) it runs as the package's `postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.server import free_port

USER = DATABASE = "catsdogs"


def postgres_bin() -> Path | None:
    """The folder of initdb and pg_ctl: Debian keeps them under /usr/lib/postgresql/<major>/bin."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and (Path(found).parent / "initdb").exists() else None


def _as_owner(folder: Path) -> list[str]:
    """The command prefix that runs as the cluster's owner (root may not own a cluster)."""
    if os.geteuid() != 0:
        return []
    try:
        owner = pwd.getpwnam("postgres")  # made by Debian's package
    except KeyError:
        raise FileNotFoundError("no 'postgres' user to run the server as (initdb refuses root)") from None
    os.chown(folder, owner.pw_uid, owner.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def postgres_server() -> Iterator[str]:
    """A fresh PostgreSQL server with an empty database; yields its DATABASE_URL."""
    binaries = postgres_bin()
    if binaries is None:
        raise FileNotFoundError("PostgreSQL's initdb and pg_ctl are not installed (Debian: apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="catsdogs-postgres-"))
    os.chmod(folder, 0o755)
    prefix = _as_owner(folder)
    data, port = folder / "data", free_port()
    run = lambda *args: subprocess.run([*prefix, *args], check=True, capture_output=True, text=True, timeout=120)
    try:
        run(str(binaries / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync")
        # fsync off: a test cluster need not survive a power cut, and the disk is shared with training
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-o", options, "-w", "start")
        run(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE)
        yield f"postgres://{USER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        if (data / "postmaster.pid").exists():
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'feedback.sqlite3'}"  # an absolute path: sqlite:////tmp/...
