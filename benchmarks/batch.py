"""Photos per second of `python -m app.classify` on a folder, against a client sending the
same photos to the API (issue 20). Called by `make bench` (benchmarks/run.py); alone:

    python -m benchmarks.batch [--photos 400]

Both sides run the same model code on the same cores: the command with one process per
core, the server as deployed (gunicorn, 2 workers) with a client of 4 threads on
loopback, once sending 16 photos per request (the API's limit) and once one per request.
The command's time is the whole run, process start and model loading included.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from benchmarks.server import ROOT, local_server
from training.config import DATASETS

CLIENT_THREADS = 4


def real_photos(count: int) -> list[Path]:
    """Kaggle's cats and dogs, as people have them (sizes and qualities vary)."""
    folder = DATASETS / "dogs-vs-cats" / "train"
    return [folder / f"{kind}.{i}.jpg" for i in range(1, count // 2 + 1) for kind in ("cat", "dog")]


def command_per_second(photos: list[Path], folder: Path) -> float:
    """The whole command on a folder of links to the photos (links: nothing is copied)."""
    source = folder / "photos"
    source.mkdir()
    for photo in photos:
        (source / photo.name).symlink_to(photo)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "app.classify", str(source), "--csv", str(folder / "labels.csv")],
                   cwd=ROOT, check=True, capture_output=True, timeout=1800)
    seconds = time.perf_counter() - started
    rows = (folder / "labels.csv").read_text().count("\n") - 1
    assert rows == len(photos), f"{rows} rows for {len(photos)} photos"
    return len(photos) / seconds


def _multipart(photos: list[Path]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{p.name}\"\r\n"
             f"Content-Type: application/octet-stream\r\n\r\n".encode() + p.read_bytes() + b"\r\n" for p in photos]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def api_per_second(photos: list[Path], url: str, per_request: int) -> float:
    """CLIENT_THREADS keep-alive connections sharing the photos, per_request files per POST."""
    bodies = [_multipart(photos[i:i + per_request]) for i in range(0, len(photos), per_request)]
    host, port = url.removeprefix("http://").split(":")
    failures: list[str] = []

    def client(mine: list[tuple[bytes, str]]) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        for body, content_type in mine:
            connection.request("POST", "/api/v1/predict", body, {"Content-Type": content_type, "Host": "localhost"})
            response = connection.getresponse()
            answer = response.read()
            if response.status != 200 or b'"error"' in answer:
                failures.append(f"{response.status}: {answer[:200]!r}")
        connection.close()

    threads = [threading.Thread(target=client, args=(bodies[i::CLIENT_THREADS],)) for i in range(CLIENT_THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    assert not failures, failures[:3]
    return len(photos) / seconds


def bench_batch(quick: bool = False, notes: list[str] | None = None, count: int | None = None) -> dict:
    """The three throughputs on the same photos; a sentence for BENCHMARKS.md goes to notes."""
    photos = real_photos(count or (100 if quick else 1000))
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as folder:
        command = command_per_second(photos, Path(folder))
    with local_server(workers=2) as server:
        server.wait_ready()
        api_16 = api_per_second(photos, server.url, 16)
        api_1 = api_per_second(photos, server.url, 1)
    result = {"photos": len(photos), "command_per_second": round(command, 1),
              "api_16_per_request_per_second": round(api_16, 1), "api_1_per_request_per_second": round(api_1, 1)}
    if notes is not None:
        notes.append(f"Batch command (`python -m app.classify`, whole run) on {len(photos)} Kaggle photos: "
                     f"{command:.1f} photos/s; the same photos through the API from a {CLIENT_THREADS}-thread "
                     f"client: {api_16:.1f} photos/s at 16 per request, {api_1:.1f} at 1 per request.")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=400)
    args = parser.parse_args(argv)
    print(json.dumps(bench_batch(count=args.photos), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
