"""Decode every photo once into a memory-mapped uint8 array.

JPEG decoding would be the slowest part of every epoch on a small CPU, so it
happens once: `build_cache` runs the serving preprocessing
(`app.inference.preprocess`) on every file, in parallel, and writes

    images.u8    uint8 (N, size, size, 3), memory-mapped by `load_cache`
    index.json   label, split and path of each row, plus the skipped files

A photo's split comes from a hash of its bytes, and near-copies among the
"other" photos of one kind (`training/copies.py`) all take the split of the
first of them, so an edited copy never lands on the other side of a split.
Later runs with the same files and size reuse the cache.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from app.inference.decision import OTHER
from app.inference.preprocess import ImageError, preprocess
from training.copies import copy_groups
from training.data import Example, kind_of, split_of

SPLIT_RULE = "sha1 of file bytes: 80% train, 10% val, 10% test; near-copies of 'other' photos share a split"


@dataclass
class CachedData:
    images: np.ndarray  # uint8 (N, size, size, 3), memory-mapped
    labels: np.ndarray  # int (N,)
    splits: np.ndarray  # str (N,): train / val / test
    paths: list[str]
    skipped: list[dict]  # {"path", "reason"} for files that could not be read
    key: str = ""  # the cache folder's name: input size and a fingerprint of the files

    def subset(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        rows = np.flatnonzero(self.splits == split)
        return self.images[rows], self.labels[rows]

    def labels_of(self, split: str) -> np.ndarray:
        """Labels only: unlike subset(), reads no pixels from the memory map."""
        return self.labels[self.splits == split]

    def paths_of(self, split: str) -> list[str]:
        return [self.paths[i] for i in np.flatnonzero(self.splits == split)]

    def kinds_of(self, split: str) -> np.ndarray:
        """cat, dog, or the kind of "other" (`training.data.kind_of`) of each photo of the split."""
        rows = np.flatnonzero(self.splits == split)
        return np.array([kind_of(self.paths[i], self.labels[i]) for i in rows], dtype=str)


def _fingerprint(examples: list[Example], size: int) -> str:
    digest = hashlib.sha1(f"{size}|{SPLIT_RULE}".encode())
    for example in examples:
        stat = example.path.stat()
        digest.update(f"{example.path}|{stat.st_size}|{example.label}".encode())
    return digest.hexdigest()[:16]


def _decode_one(args: tuple[str, int]) -> tuple[np.ndarray | None, str, str]:
    """(pixels or None, split, reason) for one file; runs in a worker process."""
    path, size = args
    try:
        content = Path(path).read_bytes()
        return preprocess(content, size=size), split_of(content), ""
    except ImageError as error:
        return None, "", error.code
    except OSError as error:
        return None, "", f"unreadable: {error.strerror}"


def build_cache(examples: list[Example], cache_root: Path, size: int, workers: int = 2) -> CachedData:
    cache_dir = Path(cache_root) / f"{size}px-{_fingerprint(examples, size)}"
    if (cache_dir / "index.json").exists():
        return load_cache(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / "images.u8.partial"
    images = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8,
                                       shape=(len(examples), size, size, 3))
    kept, skipped = [], []
    jobs = [(str(e.path), size) for e in examples]
    with ProcessPoolExecutor(workers) as pool:
        results = pool.map(_decode_one, jobs, chunksize=64)
        for example, (pixels, split, reason) in tqdm(zip(examples, results), total=len(jobs),
                                                      desc="decoding", unit="img"):
            if pixels is None:
                skipped.append({"path": str(example.path), "reason": reason})
                continue
            images[len(kept)] = pixels
            kept.append({"path": str(example.path), "label": example.label, "split": split})
    keep_copies_together(kept, images)
    images.flush()
    del images
    _shrink_to(partial, cache_dir / "images.u8", len(kept), size)
    index = {"size": size, "rows": kept, "skipped": skipped}
    (cache_dir / "index.json").write_text(json.dumps(index))
    return load_cache(cache_dir)


def keep_copies_together(rows: list[dict], images: np.ndarray) -> None:
    """Give every near-copy among the "other" photos of one kind its group's first split."""
    by_kind: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        if row["label"] == OTHER:
            by_kind.setdefault(kind_of(row["path"], OTHER), []).append(i)
    for members in by_kind.values():
        groups = copy_groups(images[members])
        for member, first in zip(members, groups):
            rows[member]["split"] = rows[members[first]]["split"]


def _shrink_to(partial: Path, final: Path, rows: int, size: int) -> None:
    """Copy the first `rows` images into the final file (skipped files leave a tail)."""
    source = np.load(partial, mmap_mode="r")
    target = np.lib.format.open_memmap(final, mode="w+", dtype=np.uint8, shape=(rows, size, size, 3))
    for start in range(0, rows, 1024):
        end = min(start + 1024, rows)
        target[start:end] = source[start:end]
    target.flush()
    partial.unlink()


def load_cache(cache_dir: Path) -> CachedData:
    index = json.loads((Path(cache_dir) / "index.json").read_text())
    rows = index["rows"]
    return CachedData(
        images=np.load(Path(cache_dir) / "images.u8", mmap_mode="r"),
        labels=np.array([r["label"] for r in rows], dtype=np.int64),
        splits=np.array([r["split"] for r in rows]),
        paths=[r["path"] for r in rows],
        skipped=index["skipped"],
        key=Path(cache_dir).name,
    )
