"""The measuring tools that make bench (benchmarks/run.py) and make soak
(benchmarks/soak.py) share: test photos made here, ApacheBench as the client, and a
timer. gunicorn is started by benchmarks/server.py, as for the tests."""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from pathlib import Path

import cv2
import numpy as np

from training.config import DATASETS

PHOTO = DATASETS / "dogs-vs-cats" / "train" / "cat.1.jpg"


def median_ms(function, runs: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


# --- inputs made here ------------------------------------------------------------

def make_photos(folder: Path) -> dict[str, Path]:
    """A real cat photo at the sizes users send (detail added so big JPEGs are not trivially small)."""
    base = cv2.imread(str(PHOTO))
    rng = np.random.default_rng(0)
    sizes = {"200x200 JPEG": (200, 200, ".jpg"), "500x375 JPEG": (500, 375, ".jpg"),
             "1 MP JPEG": (1155, 866, ".jpg"), "12 MP JPEG": (4000, 3000, ".jpg"), "2 MP PNG": (1633, 1225, ".png")}
    photos = {}
    for name, (width, height, ext) in sizes.items():
        image = cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC)
        image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)  # sensor-like grain
        path = folder / f"{width}x{height}{ext}"
        cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 90] if ext == ".jpg" else [])
        photos[name] = path
    return photos


def multipart_file(path: Path, folder: Path) -> tuple[Path, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{path.name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + path.read_bytes() + \
        f"\r\n--{boundary}--\r\n".encode()
    out = folder / f"{path.stem}.multipart"
    out.write_bytes(body)
    return out, f"multipart/form-data; boundary={boundary}"


def apache_bench(url: str, body: Path, content_type: str, concurrency: int, requests: int, seconds: int) -> dict:
    """ApacheBench (C, one process) as the client, so the client steals little CPU."""
    result = subprocess.run(
        # -n after -t: ab's -t otherwise resets the request cap to 50,000
        ["ab", "-q", "-t", str(seconds), "-n", str(requests), "-c", str(concurrency), "-s", "60",
         "-p", str(body), "-T", content_type, "-H", "Host: localhost", url + "/api/v1/predict"],
        capture_output=True, text=True, timeout=seconds + 120)
    out = result.stdout
    percent = {int(p): float(ms) for p, ms in re.findall(r"^\s+(\d+)%\s+(\d+)", out, re.M)}
    def number(pattern: str) -> float:
        match = re.search(pattern, out)
        return float(match.group(1)) if match else float("nan")
    # ab counts a body whose length differs from the first one as "failed (Length)"; our JSON
    # answers vary in length (timings), so only connect, receive and exception failures count
    failed = sum(int(x) for x in re.findall(r"(?:Connect|Receive): (\d+)", out)) + \
        sum(int(x) for x in re.findall(r"Exceptions: (\d+)", out))
    return {"concurrency": concurrency, "requests": int(number(r"Complete requests:\s+(\d+)")),
            "failed": failed, "non_2xx": int(number(r"Non-2xx responses:\s+(\d+)"))
            if "Non-2xx" in out else 0,
            "per_second": number(r"Requests per second:\s+([\d.]+)"),
            "p50_ms": percent.get(50), "p95_ms": percent.get(95), "p99_ms": percent.get(99)}
