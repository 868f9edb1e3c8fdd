"""Speed and footprint of the app, measured side by side with the usual way.

    make bench        # or: python -m benchmarks.run [--quick]

Writes BENCHMARKS.md and benchmarks/results.json. Everything runs on this
machine, HTTP on loopback only, every load bounded in requests and seconds.
The machine is noisy: compare ratios measured in the same run, not absolute
figures across runs.

Sections: model only (batch 1/8/32, 1 and 2 threads, fp32 vs int8),
preprocessing per photo size, end to end over HTTP against gunicorn as in
production (ApacheBench, concurrency 1/8/32), cold start, resident memory per
worker (idle and after 5,000 requests), and the baseline: the same network
through Keras/TensorFlow `model.predict` with Keras image loading.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from app.inference.model import Classifier
from app.inference.preprocess import preprocess
from app.inference.variant import choose, int8_path_for
from benchmarks.batch import bench_batch
from benchmarks.harness import apache_bench, make_photos, median_ms, multipart_file
from benchmarks.server import ROOT, local_server
from training.run_files import RunFiles

# The speed and footprint targets (issue 14), each once: what, comparison, goal.
TARGETS = (
    ("model p50, batch 1, 1 thread (ms)", "<=", 10.0),
    ("HTTP p50, 500x375 JPEG, c=1 (ms)", "<=", 20.0),
    ("HTTP p50, 12 MP JPEG, c=1 (ms)", "<=", 60.0),
    ("throughput, 500x375 JPEG, c=8 (/s)", ">=", 80.0),
    ("cold start to first prediction (s)", "<=", 1.0),
    ("resident memory per worker (MB)", "<=", 200.0),
    ("speed-up over Keras/TensorFlow, in-process, worse photo (x)", ">=", 5.0),
)
# met, missed, or not measured in this run: as BENCHMARKS.md and the console say it
VERDICT_WORDS = {True: ("yes", "PASS"), False: ("**no**", "MISS"), None: ("not run", "SKIP")}


# --- model only and preprocessing --------------------------------------------------

def bench_model(models: dict[str, Path], runs: int) -> list[dict]:
    rows = []
    for kind, path in models.items():
        for threads in (1, 2):
            classifier = Classifier(path, threads=threads)
            for batch in (1, 8, 32):
                images = np.zeros((batch, classifier.input_size, classifier.input_size, 3), np.uint8)
                ms = median_ms(lambda: classifier.predict(images), max(5, runs // batch))
                rows.append({"model": kind, "threads": threads, "batch": batch, "p50_ms": round(ms, 2),
                             "per_image_ms": round(ms / batch, 2)})
                print(f"model {kind} threads={threads} batch={batch}: {ms:.2f} ms")
    return rows


def bench_preprocess(photos: dict[str, Path], runs: int, size: int) -> list[dict]:
    rows = []
    for name, path in photos.items():
        data = path.read_bytes()
        ms = median_ms(lambda: preprocess(data, size), runs if "12" not in name else max(10, runs // 5))
        rows.append({"photo": name, "bytes": len(data), "p50_ms": round(ms, 2)})
        print(f"preprocess {name}: {ms:.2f} ms")
    return rows


# --- the TensorFlow baseline ---------------------------------------------------------

def bench_tensorflow_baseline(keras_path: Path, photos: dict[str, Path], ours: Classifier, runs: int) -> list[dict]:
    """The original way, in-process: keras.utils.load_img + model.predict, against ours in-process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from training.models.classifier import load_export_model

    model = load_export_model(keras_path)
    size = ours.input_size
    rows = []
    for name in ("500x375 JPEG", "12 MP JPEG"):
        path, data = photos[name], photos[name].read_bytes()

        def tensorflow_way():
            image = keras.utils.img_to_array(keras.utils.load_img(path, target_size=(size, size)))
            return model.predict(image[None], verbose=0)

        def our_way():
            return ours.predict(preprocess(data, size)[None])

        tf_ms = median_ms(tensorflow_way, max(10, runs // 4))
        our_ms = median_ms(our_way, runs)
        rows.append({"photo": name, "tensorflow_ms": round(tf_ms, 2), "ours_ms": round(our_ms, 2),
                     "speedup": round(tf_ms / our_ms, 1)})
        print(f"baseline {name}: TensorFlow {tf_ms:.1f} ms, ours {our_ms:.1f} ms, x{tf_ms / our_ms:.1f}")
    return rows


def bench_http(photos: dict[str, Path], folder: Path, quick: bool) -> list[dict]:
    server = local_server(workers=2)
    server.wait_ready()
    rows = []
    try:
        for name in ("500x375 JPEG", "12 MP JPEG"):
            body, content_type = multipart_file(photos[name], folder)
            apache_bench(server.url, body, content_type, 2, 20, 10)  # warm both workers
            for concurrency in (1, 8, 32):
                budget = 8 if quick else 20
                row = {"photo": name, **apache_bench(server.url, body, content_type, concurrency, 5000, budget)}
                rows.append(row)
                print(f"http {name} c={concurrency}: p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, "
                      f"{row['per_second']:.1f}/s, failed {row['failed']}, non-2xx {row['non_2xx']}")
    finally:
        server.stop()
    return rows


def bench_cold_start(photo: Path, tries: int = 3) -> dict:
    """Process start to first answered prediction, one worker."""
    times = []
    for _ in range(tries):
        server = local_server(workers=1)
        try:
            server.wait_ready()
            body, content_type = multipart_file(photo, Path(tempfile.mkdtemp()))
            request = urllib.request.Request(server.url + "/api/v1/predict", data=body.read_bytes(),
                                             headers={"Content-Type": content_type, "Host": "localhost"})
            urllib.request.urlopen(request, timeout=30).read()
            times.append(time.perf_counter() - server.started)
        finally:
            server.stop()
    print(f"cold start: {np.median(times):.2f} s (median of {tries})")
    return {"median_s": round(float(np.median(times)), 2), "all_s": [round(t, 2) for t in times]}


def bench_memory(photo: Path, folder: Path, requests: int) -> dict:
    server = local_server(workers=2)
    try:
        server.wait_ready()
        idle = server.worker_rss_mb()
        body, content_type = multipart_file(photo, folder)
        load = apache_bench(server.url, body, content_type, 8, requests, 600)
        after = server.worker_rss_mb()
    finally:
        server.stop()
    print(f"memory per worker: idle {idle}, after {load['requests']} requests {after}")
    return {"idle_mb": [round(x, 1) for x in idle], "after_mb": [round(x, 1) for x in after],
            "requests": load["requests"], "failed": load["failed"]}


# --- report ---------------------------------------------------------------------------------

def note_twelve_megapixels(results: dict) -> None:
    """Say why the 12 MP speed-up misses its goal, when it does: a note in the results
    themselves, so results.json carries it as well as BENCHMARKS.md."""
    twelve = next((r for r in results["baseline"] if r["photo"] == "12 MP JPEG"), None)
    decode = next((r for r in results["preprocess"] if r["photo"] == "12 MP JPEG"), None)
    goal = TARGETS[-1][2]  # the speed-up over Keras
    if twelve and decode and twelve["speedup"] < goal:
        results["notes"].append(
            f"The 12 MP speed-up (x{twelve['speedup']}) misses x{goal:g}: decoding the "
            f"{decode['bytes']:,}-byte JPEG takes "
            f"{decode['p50_ms']} ms of our {twelve['ours_ms']} ms even with the decoder's 1/8 scaling, because Huffman "
            "decoding of every coefficient cannot be skipped. Where decoding is cheap (500x375) the "
            "speed-up is the 500x375 row's.")


def verdicts(results: dict) -> list[tuple[str, float | None, str, bool | None]]:
    """(what, measured, goal, met) for each of TARGETS; measured and met are None for a figure
    this run could not take (the Keras baseline needs the run's model.keras)."""
    model = next(r for r in results["model"] if r["model"] == results["served"]["variant"]
                 and r["threads"] == 1 and r["batch"] == 1)
    http = {(r["photo"], r["concurrency"]): r for r in results["http"]}
    rss = max(results["memory"]["after_mb"] + results["memory"]["idle_mb"])
    speedup = min(r["speedup"] for r in results["baseline"]) if results["baseline"] else None
    measured = (model["p50_ms"], http[("500x375 JPEG", 1)]["p50_ms"], http[("12 MP JPEG", 1)]["p50_ms"],
                http[("500x375 JPEG", 8)]["per_second"], results["cold_start"]["median_s"], round(rss, 1), speedup)
    return [(name, value, f"{op} {goal:g}", _met(value, op, goal)) for (name, op, goal), value in zip(TARGETS, measured)]


def _met(value: float | None, op: str, goal: float) -> bool | None:
    if value is None:
        return None
    return value <= goal if op == "<=" else value >= goal


def write_markdown(results: dict, path: Path) -> None:
    lines = ["# Benchmarks", "",
             f"Measured {results['date']} on {results['machine']} by `make bench` "
             "(`python -m benchmarks.run`); raw figures in `benchmarks/results.json`. "
             "One noisy 2-core machine: read ratios within this run, not absolute numbers across runs.", "",
             f"The app runs the {results['served']['variant']} model here: {results['served']['reason']} "
             "(`app/inference/variant.py`); the model, HTTP, memory and Keras rows are of that model.", "",
             "## Targets", "", "| what | measured | target | met |", "|---|---|---|---|"]
    for name, value, goal, met in verdicts(results):
        lines.append(f"| {name} | {'-' if value is None else value} | {goal} | {VERDICT_WORDS[met][0]} |")
    lines += ["", "## Model only (onnxruntime, zeros input)", "",
              "| model | threads | batch | p50 ms | ms per image |", "|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['threads']} | {r['batch']} | {r['p50_ms']} | {r['per_image_ms']} |"
              for r in results["model"]]
    lines += ["", "## Preprocessing (decode + resize, one photo)", "", "| photo | bytes | p50 ms |", "|---|---|---|"]
    lines += [f"| {r['photo']} | {r['bytes']:,} | {r['p50_ms']} |" for r in results["preprocess"]]
    lines += ["", "## End to end over HTTP (gunicorn, 2 gthread workers x 16 threads, loopback, ApacheBench)", "",
              "| photo | concurrency | requests | failed | non-2xx | p50 ms | p95 ms | p99 ms | per second |",
              "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['photo']} | {r['concurrency']} | {r['requests']} | {r['failed']} | {r['non_2xx']} | "
              f"{r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['per_second']:.1f} |" for r in results["http"]]
    lines += ["", "## Against the original way (Keras `load_img` + `model.predict`, in-process, batch 1)", "",
              "| photo | Keras/TensorFlow ms | ours (OpenCV + onnxruntime) ms | speed-up |", "|---|---|---|---|"]
    lines += [f"| {r['photo']} | {r['tensorflow_ms']} | {r['ours_ms']} | x{r['speedup']} |" for r in results["baseline"]]
    memory = results["memory"]
    lines += ["", "## Start and memory", "",
              f"- Cold start, process start to first answered prediction (1 worker): "
              f"{results['cold_start']['median_s']} s (runs: {results['cold_start']['all_s']}).",
              f"- Resident memory per worker: idle {memory['idle_mb']} MB; after {memory['requests']} requests "
              f"({memory['failed']} failed) {memory['after_mb']} MB.", ""]
    if results.get("notes"):
        lines += ["## Notes", "", *[f"- {n}" for n in results["notes"]], ""]
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(ROOT / "app" / "model" / "catsdogs.onnx"))
    parser.add_argument("--run_dir", default=str(ROOT / "var" / "runs" / "lite2"),
                        help="the shipped model's training run: its model.keras, for the TensorFlow baseline")
    parser.add_argument("--also", nargs="*", default=[], metavar="NAME=PATH",
                        help="more ONNX models for the model-only table (e.g. an earlier shipped model)")
    parser.add_argument("--quick", action="store_true", help="fewer runs and requests (a smoke test)")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args(argv)
    if not shutil.which("ab"):
        sys.exit("ApacheBench is needed: apt-get install apache2-utils")

    runs = 20 if args.quick else 200
    folder = Path(tempfile.mkdtemp(prefix="bench-"))
    photos = make_photos(folder)
    served = choose(Path(args.model))  # what the app runs on this CPU (app/inference/variant.py)
    models = {"float32": Path(args.model)}
    if int8_path_for(Path(args.model)).exists():
        models["int8"] = int8_path_for(Path(args.model))
    models.update({name: Path(path) for name, path in (entry.split("=", 1) for entry in args.also)})
    keras_path = RunFiles(args.run_dir).model

    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}",
               "served": {"variant": served.name, "reason": served.reason}, "notes": []}
    results["model"] = bench_model(models, runs)
    results["preprocess"] = bench_preprocess(photos, runs, Classifier(served.path, 1).input_size)
    results["http"] = bench_http(photos, folder, args.quick)
    results["cold_start"] = bench_cold_start(photos["500x375 JPEG"], tries=2 if args.quick else 3)
    results["memory"] = bench_memory(photos["500x375 JPEG"], folder, 500 if args.quick else 5000)
    results["batch"] = bench_batch(args.quick, notes=results["notes"])  # app.classify against the API (issue 20)
    results["baseline"] = []
    if keras_path.exists():
        results["baseline"] = bench_tensorflow_baseline(keras_path, photos, Classifier(served.path, 1), runs)
    else:
        results["notes"].append(f"No Keras model at {keras_path}: the TensorFlow baseline was not run.")
    note_twelve_megapixels(results)

    (ROOT / "benchmarks").mkdir(exist_ok=True)
    json_path = Path(args.output).with_name("results.json") if args.output != str(ROOT / "BENCHMARKS.md") \
        else ROOT / "benchmarks" / "results.json"
    json_path.write_text(json.dumps(results, indent=1))
    write_markdown(results, Path(args.output))
    for name, value, goal, met in verdicts(results):
        print(f"{VERDICT_WORDS[met][1]}  {name:<48} {'-' if value is None else value}  ({goal})")
    print(f"wrote {args.output} and {json_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
