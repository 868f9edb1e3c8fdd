"""Find labelled photos on disk and split them deterministically.

Layouts understood (paths come from the command line):
- Kaggle's flat folder: `train/cat.123.jpg`, `train/dog.45.jpg` (label = prefix);
- Microsoft's `PetImages/Cat/*.jpg` and `PetImages/Dog/*.jpg`;
- any folder of photos that are neither, labelled "other".

Files that cannot be decoded are skipped and counted later, when the cache
is built (`training/cache.py`); here we only decide labels and splits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from app.inference.decision import CAT, CLASS_NAMES, DOG, OTHER

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif", ".avif"}


@dataclass(frozen=True)
class Example:
    path: Path
    label: int  # index into CLASS_NAMES


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _child(folder: Path, name: str) -> Path | None:
    """A subfolder matched case-insensitively (PetImages uses Cat/Dog)."""
    for child in folder.iterdir():
        if child.is_dir() and child.name.lower() == name:
            return child
    return None


def find_pet_examples(folder: Path) -> list[Example]:
    """Cats and dogs from a Kaggle flat folder or a PetImages folder."""
    folder = Path(folder)
    cat_dir, dog_dir = _child(folder, "cat"), _child(folder, "dog")
    if cat_dir and dog_dir:
        return ([Example(p, CAT) for p in _image_files(cat_dir)]
                + [Example(p, DOG) for p in _image_files(dog_dir)])
    examples = []
    for path in _image_files(folder):
        prefix = path.name.split(".", 1)[0].lower()
        if prefix in ("cat", "dog"):
            examples.append(Example(path, CLASS_NAMES.index(prefix)))
    if not examples:
        raise ValueError(f"{folder}: no cat.N.jpg / dog.N.jpg files and no Cat/ and Dog/ folders")
    return examples


def find_other_examples(folder: Path) -> list[Example]:
    """Every photo in the folder is labelled "other"."""
    return [Example(p, OTHER) for p in _image_files(Path(folder))]


def kind_of(path: str | Path, label: int) -> str:
    """What a photo shows, for holding whole kinds out: "cat" or "dog" for pets, and for
    "other" the file name's prefix (`car.12.jpg` -> "car"), so that the people of two
    folders are one kind. A file without a prefix is its folder's kind."""
    if CLASS_NAMES[label] != "other":
        return CLASS_NAMES[label]
    name = Path(path).name
    return name.split(".", 1)[0].lower() if name.count(".") >= 2 else Path(path).parent.name.lower()


def kind_folds(kinds: list[str], folds: int) -> dict[str, int]:
    """Each kind of "other" to one cross-validation fold, round robin in name order, so
    every fold holds a few whole kinds out and every kind is held out exactly once."""
    return {kind: i % folds for i, kind in enumerate(sorted(set(kinds)))}


def split_of(content: bytes, val_percent: int = 10, test_percent: int = 10) -> str:
    """train / val / test from a hash of the file's bytes.

    Identical files always land in the same split, whatever their names, so a
    duplicate can never leak from training into evaluation.
    """
    bucket = int.from_bytes(hashlib.sha1(content).digest()[:8], "big") % 100
    if bucket < test_percent:
        return "test"
    if bucket < test_percent + val_percent:
        return "val"
    return "train"


def fold_of(content: bytes, folds: int) -> int:
    """A cross-validation fold from another part of the same hash as `split_of`,
    so identical files share a fold and folds are independent of splits."""
    return int.from_bytes(hashlib.sha1(content).digest()[8:16], "big") % folds
