"""The one way the benchmarks and the tests start the app: gunicorn on a free loopback
port, waited for until /readyz answers. Standard library only, so the container test can
use it with nothing of the training environment loaded.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_command() -> list[str]:
    """gunicorn of the running environment, with the repository's config (as `make serve`)."""
    return [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py"]


class Server:
    """gunicorn with this environment (HOST and PORT set here), started at once; what it
    prints is kept, to show when it does not get ready."""

    def __init__(self, env: Mapping[str, str], command: Sequence[str] | None = None, cwd: Path = ROOT):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        self._output = tempfile.TemporaryFile()
        self.started = time.perf_counter()
        self.process = subprocess.Popen(list(command or gunicorn_command()), cwd=cwd, env=self.env,
                                        stdout=self._output, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds from start until /readyz answered 200; RuntimeError, with what gunicorn
        printed, if it exits first or takes longer than `timeout`."""
        while time.perf_counter() - self.started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}) before it was ready:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - self.started
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"gunicorn was not ready within {timeout:g} s:\n{self.output()}")

    def output(self) -> str:
        """What gunicorn has printed so far (stdout and stderr together)."""
        self._output.seek(0)
        return self._output.read().decode(errors="replace")

    def worker_rss_mb(self) -> list[float]:
        children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout.split()
        sizes = []
        for pid in children:
            status = Path(f"/proc/{pid}/status").read_text()
            sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
        return sizes

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self._output.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def local_server(workers: int = 2, **settings: str) -> Server:
    """This checkout served as `make serve` does, with the rate limit off: benchmarks and
    tests send many requests from one address."""
    return Server({**os.environ, "WEB_CONCURRENCY": str(workers), "RATE_LIMIT_PER_MINUTE": "0",
                   "STATIC_ROOT": tempfile.mkdtemp(prefix="catsdogs-static-"), **settings})
