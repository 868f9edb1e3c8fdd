"""Load and soak on loopback: the app keeps serving, answers clearly, does not leak.

    make soak    # or: python -m benchmarks.soak [--seconds 60] [--requests 10000]

1. 32 concurrent clients for --seconds: zero 5xx, zero dropped requests, p99.
2. Memory: worker RSS after 1,000 and after --requests requests (no growth = no leak).
3. Stalled uploads: more stalled uploads than the server has threads, while a
   normal client keeps asking; the normal client must keep getting answers
   within the upload idle timeout plus a margin.
4. Feedback: 32 clients post --feedback answers at once, half with the photo kept;
   every 201 must be a row of export_feedback, none lost, no "database is locked".
   SQLite in a temporary DATA_DIR, or the database DATABASE_URL names.
Prints a verdict per check and writes benchmarks/soak.json; exits 1 on a failed check.
Bounded in time and requests; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import csv
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.harness import apache_bench, make_photos, multipart_file
from benchmarks.server import ROOT, Server, local_server


def load(server: Server, body: Path, content_type: str, seconds: int) -> dict:
    result = apache_bench(server.url, body, content_type, 32, 1_000_000, seconds)
    ok = result["failed"] == 0 and result["non_2xx"] == 0 and result["requests"] > 0
    print(f"32 clients for {seconds} s: {result['requests']} requests, {result['per_second']:.1f}/s, "
          f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, failed {result['failed']}, "
          f"non-2xx {result['non_2xx']} -> {'OK' if ok else 'FAILED'}")
    return {**result, "ok": ok}


def memory(server: Server, body: Path, content_type: str, total: int) -> dict:
    apache_bench(server.url, body, content_type, 8, 1000, 300)
    early = server.worker_rss_mb()
    apache_bench(server.url, body, content_type, 8, total - 1000, 1800)
    late = server.worker_rss_mb()
    growth = max(b - a for a, b in zip(early, late))
    ok = growth < 25  # MB: allocator noise, not a per-request leak (a 1 KB leak x 9,000 would be 9 MB per worker)
    print(f"RSS per worker after 1,000 requests {[round(x) for x in early]} MB, after {total}: "
          f"{[round(x) for x in late]} MB (growth {growth:.1f} MB) -> {'OK' if ok else 'FAILED'}")
    return {"after_1000_mb": early, f"after_{total}_mb": late, "growth_mb": growth, "ok": ok}


def stalled_uploads(server: Server, photo: bytes, body: Path, content_type: str, stalled: int,
                    idle_timeout: float) -> dict:
    """Open `stalled` uploads that send headers and the start of a body, then go quiet,
    while a normal client keeps asking for predictions."""
    sockets = []
    for _ in range(stalled):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(b"POST /api/v1/predict HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: multipart/form-data; boundary=x\r\n"
                  + f"Content-Length: {len(photo) + 200}\r\n\r\n".encode() + b"--x\r\n")
        sockets.append(s)
    latencies, errors = [], []
    deadline = time.monotonic() + idle_timeout * 2 + 5
    while time.monotonic() < deadline:
        start = time.monotonic()
        try:
            request = urllib.request.Request(server.url + "/api/v1/predict", data=body.read_bytes(),
                                             headers={"Content-Type": content_type, "Host": "localhost"})
            urllib.request.urlopen(request, timeout=idle_timeout + 10).read()
            latencies.append(time.monotonic() - start)
        except OSError as error:
            errors.append(str(error))
        time.sleep(0.5)
    for s in sockets:
        s.close()
    worst = max(latencies) if latencies else float("inf")
    # Connections are not spread evenly over workers, so one worker may hold most of the
    # stalled uploads; the promise is recovery within the idle timeout, with no error.
    ok = not errors and worst <= idle_timeout + 3
    print(f"{stalled} stalled uploads: {len(latencies)} normal requests answered meanwhile, worst "
          f"{worst:.2f} s, errors {len(errors)} -> {'OK' if ok else 'FAILED'}")
    return {"stalled": stalled, "answered": len(latencies), "worst_s": worst, "errors": errors[:3], "ok": ok}


def post_feedback(url: str, fields: dict[str, str], photo: bytes | None) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in fields.items())
    if photo is not None:
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="p.jpg"\r\n\r\n'.encode()
                 + photo + b"\r\n")
    body += f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(url + "/api/v1/feedback", data=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Host": "localhost"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}
    except OSError:
        return 0, {}  # dropped: counted as lost


def feedback(server: Server, photo: bytes, posts: int, clients: int = 32) -> dict:
    """`posts` feedbacks from `clients` at once, then the database read back through export_feedback."""
    marker = f"soak-{uuid.uuid4().hex[:8]}"

    def one(i: int) -> tuple[int, dict]:
        consent = i % 2 == 0
        fields = {"predicted": "dog", "correct": "cat", "model_version": marker,
                  "consent": "true" if consent else "false"}
        return post_feedback(server.url, fields, photo if consent else None)

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(one, range(posts)))
    seconds = time.monotonic() - started
    created = {answer["id"] for status, answer in answers if status == 201}
    export = Path(tempfile.mkdtemp(prefix="soak-export-"))
    subprocess.run([sys.executable, "manage.py", "export_feedback", str(export)], cwd=ROOT, env=server.env,
                   check=True, capture_output=True, timeout=600)
    with open(export / "feedback.csv", newline="") as table:
        rows = {int(row["id"]) for row in csv.DictReader(table) if row["model_version"] == marker}
    locked = server.output().count("database is locked")
    ok = len(created) == posts and rows == created and not locked
    print(f"{clients} clients posting {posts} feedbacks (half with photos): {len(created)} answered 201 in "
          f"{seconds:.1f} s, {len(rows)} rows, {len(created - rows)} lost, 'database is locked' {locked} times "
          f"-> {'OK' if ok else 'FAILED'}")
    return {"posts": posts, "created": len(created), "rows": len(rows), "lost": len(created - rows),
            "locked": locked, "seconds": seconds, "ok": ok}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--stalled", type=int, default=12, help="stalled uploads held open at once (the server has 2 workers x 16 threads)")
    parser.add_argument("--feedback", type=int, default=2000, help="feedbacks posted by 32 clients at once")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    photo = make_photos(folder)["500x375 JPEG"]
    body, content_type = multipart_file(photo, folder)
    idle_timeout = 10.0
    # feedback goes to a throwaway SQLite file unless DATABASE_URL names a database to soak
    server = local_server(workers=2, UPLOAD_IDLE_TIMEOUT=str(idle_timeout), DATA_DIR=str(folder / "data"))
    server.wait_ready()
    try:
        results = {"load": load(server, body, content_type, args.seconds),
                   "memory": memory(server, body, content_type, args.requests),
                   "stalled_uploads": stalled_uploads(server, photo.read_bytes(), body, content_type,
                                                      args.stalled, idle_timeout),
                   "feedback": feedback(server, photo.read_bytes(), args.feedback)}
        alive = urllib.request.urlopen(server.url + "/healthz", timeout=5).status == 200
        results["alive_after"] = alive
    finally:
        server.stop()
    (ROOT / "benchmarks" / "soak.json").write_text(json.dumps(results, indent=1, default=float))
    ok = all(r["ok"] for r in results.values() if isinstance(r, dict)) and results["alive_after"]
    print("soak:", "all checks passed" if ok else "FAILED", "- written to benchmarks/soak.json")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
