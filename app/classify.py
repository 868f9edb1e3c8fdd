"""Classify photos on disk, files and folders (recursively), without a browser or a server.

    python -m app.classify PATH... [--csv FILE | --jsonl FILE] [--sort-into DIR] [--heatmaps DIR]
    docker run -v "$PWD/photos:/photos" catsdogs python -m app.classify /photos --csv /photos/labels.csv

The photos go through the app's own code path (`app.inference.service.classify`: the
same preprocessing, model, variant and limits as the API), in batches spread over
one process per core. Every file gets one row, in the order found (path, label,
confidence, one score per class, and the reason when it could not be classified);
none is skipped and no bad file stops the run. `--sort-into` copies each classified
photo into DIR/cat/, DIR/dog/ or DIR/other/; originals are only ever read.
Rows go to standard output as CSV unless a file is named; a progress bar goes to
standard error when that is a terminal.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import multiprocessing
import os
import shutil
import stat
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from app.env import DEFAULT_MAX_BYTES, env_str, max_image_pixels, max_upload_bytes, model_variant
from app.inference.answer import PhotoAnswer
from app.inference.model import ModelLoadError
from app.inference.preprocess import ImageError, sniff_format, unsupported_format

# The same settings, read the same way, as app/settings.py (without starting Django).
DEFAULT_MODEL = Path(__file__).resolve().parent / "model" / "catsdogs.onnx"
BATCH = 16  # photos per model run: the API's default maximum per request
HEAD_BYTES = 4096  # enough to tell every format from its first bytes (HEIF's ftyp: at most 1,024)


@dataclass(frozen=True)
class Job:
    """One file to classify: where it is, how its row names it, where its heatmap goes."""

    path: Path
    shown: str
    heatmap: Path | None = None


@dataclass
class Row:
    path: str
    label: str = ""
    confidence: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    error_code: str = ""
    error: str = ""

    def jsonable(self) -> dict:
        answer = {"path": self.path}
        if self.label:  # classified, even if writing its copy or heatmap failed
            answer.update(label=self.label, confidence=self.confidence, scores=self.scores)
        if self.error_code:
            answer["error"] = {"code": self.error_code, "message": self.error}
        return answer


@dataclass(frozen=True)
class Settings:
    model: Path
    variant: str
    max_pixels: int
    max_bytes: int = DEFAULT_MAX_BYTES


# --- finding the files -------------------------------------------------------------------

def find_jobs(paths: list[str], exclude: set[Path], heatmaps: Path | None) -> list[Job]:
    """Every file under the paths, in a stable order; a path that is missing still gets its row."""
    jobs: list[Job] = []
    taken: set[Path] = set()
    for given in paths:
        for path, inside in _walk(Path(given), exclude):
            # heatmaps keep the photo's place within the folder given: DIR/sub/cat.jpg.heatmap.jpg
            target = _free_name(heatmaps / f"{inside}.heatmap.jpg", taken) if heatmaps else None
            jobs.append(Job(path, str(path), target))
    return jobs


def _walk(root: Path, exclude: set[Path]) -> Iterator[tuple[Path, Path]]:
    """(file, its path within root) for every file under root; root itself if it is no folder."""
    if not root.is_dir():
        yield root, Path(root.name or "file")
        return
    seen = {root.resolve()}  # folders linked from inside are followed, each once (no loops)
    for folder, dirs, files in os.walk(root, followlinks=True):
        here = Path(folder)
        dirs[:] = _unseen(here, sorted(dirs), exclude, seen)
        for name in sorted(files):
            if (here / name).resolve() not in exclude:
                yield here / name, (here / name).relative_to(root)


def _unseen(here: Path, names: list[str], exclude: set[Path], seen: set[Path]) -> list[str]:
    """The folders not walked yet, each marked seen as it is queued: two links to one folder,
    or a folder and a link to it side by side, give its files once."""
    kept = []
    for name in names:
        real = (here / name).resolve()
        if real not in exclude and real not in seen:
            seen.add(real)
            kept.append(name)
    return kept


def _free_name(wanted: Path, taken: set[Path]) -> Path:
    """wanted, or wanted with -2, -3... before its extension: never one already used or on disk."""
    candidate, n = wanted, 1
    while candidate in taken or candidate.exists():
        n += 1
        candidate = wanted.with_name(f"{_stem(wanted)}-{n}{_suffix(wanted)}")
    taken.add(candidate)
    return candidate


def _stem(path: Path) -> str:
    return path.name[: -len(_suffix(path))] if _suffix(path) else path.name


def _suffix(path: Path) -> str:
    return ".heatmap.jpg" if path.name.endswith(".heatmap.jpg") else path.suffix


# --- classifying: one process per core ---------------------------------------------------

_worker: tuple | None = None  # (classifier, settings) of this process


def _start_worker(settings: Settings) -> None:
    global _worker
    import cv2

    from app.inference.model import get_classifier

    cv2.setNumThreads(1)  # one process per core already: more threads would only contend
    _worker = (get_classifier(str(settings.model), 1, settings.variant), settings)


def _checked_class_names(settings: Settings) -> list[str]:
    """Load the model once, outside the process-wide cache, for its class names only:
    with a pool the workers classify, each with its own model."""
    from app.inference.model import load_classifier

    return list(load_classifier(str(settings.model), 1, settings.variant).class_names)


def classify_jobs(jobs: list[Job]) -> list[Row]:
    """Rows for one batch, in order, through the app's classify(); runs in a worker."""
    from app.inference.service import classify

    classifier, settings = _worker
    files = [_OnDisk(job.path, settings.max_bytes) for job in jobs]
    want_heatmaps = any(job.heatmap for job in jobs)
    answer = classify(files, classifier, settings.max_pixels, heatmaps=want_heatmaps)
    return [_row(job, entry) for job, entry in zip(jobs, answer.predictions)]


class _OnDisk:
    """An upload whose bytes are read only when classify() decodes it: one file of a batch in
    memory at a time, and a reading error becomes that file's entry like a decoding error."""

    def __init__(self, path: Path, max_bytes: int):
        self.path, self.filename, self.max_bytes = path, path.name, max_bytes

    @property
    def content(self) -> bytes:
        return _read(self.path, self.max_bytes)


def _read(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, or an ImageError saying why not (as a photo that cannot be decoded).
    Its first bytes are read first: a file that is no image is refused without reading the rest."""
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):  # a pipe or a device would block or never end
            raise ImageError("not_a_file", "This is not a regular file.")
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
            if head and sniff_format(head) is None:
                raise unsupported_format()
            if status.st_size > max_bytes:
                raise _too_large(max_bytes)
            data = head + f.read(max_bytes + 1 - len(head))  # the cap holds even if the file grows
    except FileNotFoundError:
        raise ImageError("not_found", "No such file or folder.") from None
    except OSError as error:  # permissions, a broken link, a vanished file
        raise ImageError("unreadable", f"The file cannot be read: {_reason(error)}.") from None
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return data


def _too_large(max_bytes: int) -> ImageError:
    return ImageError("file_too_large", f"The file is over {max_bytes:,} bytes (MAX_UPLOAD_BYTES).")


def _row(job: Job, entry: PhotoAnswer) -> Row:
    if entry.error is not None:
        return Row(job.shown, error_code=entry.error.code, error=entry.error.message)
    row = Row(job.shown, entry.label, entry.confidence, entry.scores)
    if job.heatmap is not None:
        try:
            job.heatmap.parent.mkdir(parents=True, exist_ok=True)
            job.heatmap.write_bytes(base64.b64decode(entry.heatmap.image.split(",", 1)[1]))
        except OSError as error:  # disk full, a file where a folder should be: the photo keeps its label
            _remove(job.heatmap)  # no half-written heatmap left behind
            _failed(row, "heatmap_failed", f"The heatmap {job.heatmap} could not be written: {_reason(error)}.")
    return row


def _failed(row: Row, code: str, message: str) -> None:
    """A classified photo whose output could not be written: its row says so, and so does stderr."""
    if row.error_code:  # its heatmap failed already: the row keeps both reasons
        row.error = f"{row.error} {message}"
    else:
        row.error_code, row.error = code, message
    print(f"app.classify: {row.path}: {message}", file=sys.stderr)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass  # it never was a file of ours


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _class_names() -> list[str]:
    return list(_worker[0].class_names)


CRASHED = ("worker_crashed", "The process classifying this file stopped (killed, or out of memory).")


class Runner:
    """Batches of jobs through `workers` processes (this one alone for 1), rows in order.

    The model is loaded here first, so that a model that cannot be loaded stops the command
    once (ModelLoadError) instead of failing in every worker; with a pool it is not kept,
    since each worker loads its own. A worker that dies (killed, out
    of memory) breaks the pool: its batch is retried one file at a time in a new pool, and
    only the file whose worker dies again gets an error row."""

    def __init__(self, settings: Settings, workers: int, batch: int = BATCH, work=None):
        self.settings, self.workers, self.batch = settings, workers, batch
        self.work = work or classify_jobs  # what a worker does with one batch
        self.pool = None
        if workers > 1:
            self.class_names = _checked_class_names(settings)
            self.pool = self._new_pool()
        else:
            _start_worker(settings)
            self.class_names = _class_names()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: each worker builds its own onnxruntime session in a clean process
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=(self.settings,))

    def _restart(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._new_pool()

    def rows(self, jobs: list[Job]) -> Iterator[Row]:
        batches = [jobs[i:i + self.batch] for i in range(0, len(jobs), self.batch)]
        if self.pool is None:
            for batch in batches:
                yield from self.work(batch)
            return
        futures = [self.pool.submit(self.work, batch) for batch in batches]
        for i, batch in enumerate(batches):
            try:
                rows = futures[i].result()
            except BrokenProcessPool:
                self._restart()
                rows = [self._alone(job) for job in batch]
                for j in range(i + 1, len(batches)):  # the broken pool's unfinished batches, again
                    if not futures[j].done() or futures[j].exception() is not None:
                        futures[j] = self.pool.submit(self.work, batches[j])
            yield from rows

    def _alone(self, job: Job) -> Row:
        try:
            return self.pool.submit(self.work, [job]).result()[0]
        except BrokenProcessPool:
            self._restart()
            return Row(job.shown, error_code=CRASHED[0], error=CRASHED[1])

    def close(self) -> None:
        if self.pool:
            self.pool.shutdown()


# --- what is done with each row ----------------------------------------------------------

def copy_into(row: Row, source: Path, folder: Path) -> Path | None:
    """A copy of the photo in folder/label/, under a free name; the original is only read.
    A copy that fails (the photo vanished, the disk is full) is removed, and the row says so."""
    if not row.label:  # not classified
        return None
    try:
        return _copy(source, folder / row.label)
    except OSError as error:
        _failed(row, "copy_failed", f"The copy into {folder / row.label} failed: {_reason(error)}.")
        return None


def _copy(source: Path, target_folder: Path) -> Path:
    target_folder.mkdir(parents=True, exist_ok=True)
    wanted, n = target_folder / source.name, 1
    with open(source, "rb") as original:
        while True:
            target = wanted if n == 1 else wanted.with_name(f"{wanted.stem}-{n}{wanted.suffix}")
            try:
                copy = open(target, "xb")  # x: never overwrite
                break
            except FileExistsError:
                n += 1
        try:
            with copy:
                shutil.copyfileobj(original, copy)
        except BaseException:
            _remove(target)  # no half-written copy left behind
            raise
    try:
        shutil.copystat(source, target)  # the photo's own dates travel with it, where allowed
    except OSError:
        pass  # some file systems refuse them (EPERM): the copy itself stands
    return target


class Writer:
    """CSV or JSON Lines, one row per file, flushed as it goes (a long run can be followed)."""

    def __init__(self, stream: TextIO, kind: str, class_names: list[str]):
        self.stream, self.kind, self.class_names = stream, kind, class_names
        if kind == "csv":
            self.csv = csv.writer(stream)
            self.csv.writerow(["path", "label", "confidence", *class_names, "error"])

    def write(self, row: Row) -> None:
        if self.kind == "csv":
            scores = [_number(row.scores.get(name)) for name in self.class_names]
            error = f"{row.error_code}: {row.error}" if row.error_code else ""
            self.csv.writerow([row.path, row.label, _number(row.confidence), *scores, error])
        else:
            self.stream.write(json.dumps(row.jsonable()) + "\n")
        self.stream.flush()


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


class Progress:
    """A one-line progress bar, drawn only on a terminal and at most ten times a second."""

    def __init__(self, total: int, stream: TextIO = sys.stderr, width: int = 30):
        self.total, self.stream, self.width = total, stream, width
        self.shown = stream.isatty()
        self.done, self.started, self.drawn = 0, time.perf_counter(), 0.0

    def step(self) -> None:
        self.done += 1
        now = time.perf_counter()
        if self.shown and (now - self.drawn >= 0.1 or self.done == self.total):
            self.drawn = now
            filled = self.width * self.done // max(self.total, 1)
            rate = self.done / max(now - self.started, 1e-9)
            self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                              f"{rate:.1f} photos/s")
            self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")


# --- the command -------------------------------------------------------------------------

def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m app.classify", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", metavar="PATH", help="photos, or folders searched recursively")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--csv", type=Path, metavar="FILE", help="write the rows as CSV (default: to stdout)")
    output.add_argument("--jsonl", type=Path, metavar="FILE", help="write the rows as JSON Lines")
    parser.add_argument("--sort-into", type=Path, metavar="DIR", help="copy each photo into DIR/<label>/")
    parser.add_argument("--heatmaps", type=Path, metavar="DIR", help="write where the model looked, as JPEGs")
    parser.add_argument("--workers", type=_positive, default=_cores(),
                        help="processes (default: one per core this process may use)")
    parser.add_argument("--model", type=Path, default=Path(env_str("MODEL_PATH", str(DEFAULT_MODEL))),
                        help="the ONNX model (default: MODEL_PATH, else the shipped one); its int8 twin "
                             "runs where the CPU gains from it, as in the app (MODEL_VARIANT)")
    return parser.parse_args(argv)


def _cores() -> int:
    # the cores this process may use (a container's CPU set), where the system says
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    settings = Settings(args.model, model_variant(), max_image_pixels(), max_upload_bytes())
    outputs = [p for p in (args.csv, args.jsonl, args.sort_into, args.heatmaps) if p is not None]
    jobs = find_jobs(args.paths, {p.resolve() for p in outputs}, args.heatmaps)
    try:
        runner = Runner(settings, min(args.workers, -(-len(jobs) // BATCH)))
    except ModelLoadError as error:
        print(f"app.classify: {error}", file=sys.stderr)  # one line: which file, and why
        return 1
    out_path = args.csv or args.jsonl
    stream = open(out_path, "w", newline="", encoding="utf-8") if out_path else sys.stdout
    progress, labels, started = Progress(len(jobs)), Counter(), time.perf_counter()
    try:
        writer = Writer(stream, "jsonl" if args.jsonl else "csv", runner.class_names)
        for job, row in zip(jobs, runner.rows(jobs)):
            if args.sort_into:
                copy_into(row, job.path, args.sort_into)  # before writing: a failed copy is in its row
            writer.write(row)
            labels[row.label or "error"] += 1
            progress.step()
    finally:
        runner.close()
        progress.close()
        if out_path:
            stream.close()
    seconds = time.perf_counter() - started
    counts = ", ".join(f"{n} {label}" for label, n in sorted(labels.items()))
    print(f"{len(jobs)} files in {seconds:.1f} s ({len(jobs) / max(seconds, 1e-9):.1f}/s): {counts or 'none'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
