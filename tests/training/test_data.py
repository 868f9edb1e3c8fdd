"""Finding labelled photos in both download layouts, the split, and the decode cache."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.inference.preprocess import preprocess
from training.cache import build_cache
from training.data import CLASS_NAMES, find_other_examples, find_pet_examples, fold_of, split_of
from tests.conftest import OTHERS, PETS

CAT, DOG, OTHER = (CLASS_NAMES.index(c) for c in ("cat", "dog", "other"))


@pytest.fixture
def kaggle_folder(tmp_path) -> Path:
    folder = tmp_path / "train"
    folder.mkdir()
    for name in ("cat.1.jpg", "cat.2.jpg", "dog.1.jpg", "dog.2.jpg"):
        shutil.copy(PETS / name, folder / name)
    (folder / "cat.99.jpg").write_bytes(b"")  # zero bytes, as in the Microsoft download
    (folder / "dog.98.jpg").write_text("this is not a JPEG")  # non-image with an image name
    (folder / "readme.txt").write_text("ignored: not an image name")
    (folder / "1234.jpg").write_bytes((PETS / "cat.3.jpg").read_bytes())  # unlabelled (Kaggle test1 style)
    return folder


@pytest.fixture
def petimages_folder(tmp_path) -> Path:
    root = tmp_path / "PetImages"
    (root / "Cat").mkdir(parents=True)
    (root / "Dog").mkdir()
    for i in range(3):
        shutil.copy(PETS / f"cat.{i + 1}.jpg", root / "Cat" / f"{i}.jpg")
        shutil.copy(PETS / f"dog.{i + 1}.jpg", root / "Dog" / f"{i}.jpg")
    (root / "Cat" / "666.jpg").write_bytes((PETS / "cat.4.jpg").read_bytes()[:200])  # truncated
    (root / "Dog" / "Thumbs.db").write_bytes(b"\0" * 64)
    return root


def test_kaggle_layout_labels_by_prefix(kaggle_folder):
    examples = find_pet_examples(kaggle_folder)
    labels = {e.path.name: e.label for e in examples}
    assert labels == {"cat.1.jpg": CAT, "cat.2.jpg": CAT, "cat.99.jpg": CAT,
                      "dog.1.jpg": DOG, "dog.2.jpg": DOG, "dog.98.jpg": DOG}


def test_petimages_layout_labels_by_folder(petimages_folder):
    examples = find_pet_examples(petimages_folder)
    assert sorted((e.path.parent.name, e.label) for e in examples) == \
        [("Cat", CAT)] * 4 + [("Dog", DOG)] * 3  # Thumbs.db is not an image name


def test_a_folder_without_labels_is_an_error(tmp_path):
    (tmp_path / "1.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match="no cat.N.jpg"):
        find_pet_examples(tmp_path)


def test_other_folder_is_all_other():
    examples = find_other_examples(OTHERS)
    images = [p for p in OTHERS.iterdir() if p.suffix == ".jpg"]
    assert sorted(e.path for e in examples) == sorted(images)  # every photo, nothing else (not the README)
    assert {e.label for e in examples} == {OTHER}


@pytest.mark.parametrize("layout", ["kaggle_folder", "petimages_folder"])
def test_the_cache_skips_and_counts_unreadable_files(layout, request, tmp_path):
    folder = request.getfixturevalue(layout)
    examples = find_pet_examples(folder)
    data = build_cache(examples, tmp_path / "cache", size=64, workers=1)
    readable = 4 if layout == "kaggle_folder" else 6
    assert len(data.labels) == readable
    assert len(data.skipped) == len(examples) - readable
    assert {s["reason"] for s in data.skipped} <= {"empty_file", "unsupported_format", "corrupt_image"}
    assert data.images.shape == (readable, 64, 64, 3)
    # rows hold exactly what serving's preprocessing makes of each file
    first = Path(data.paths[0]).read_bytes()
    assert np.array_equal(data.images[0], preprocess(first, size=64))


def test_the_cache_is_reused(kaggle_folder, tmp_path):
    examples = find_pet_examples(kaggle_folder)
    first = build_cache(examples, tmp_path / "cache", size=32, workers=1)
    stamp = (Path(first.images.filename)).stat().st_mtime_ns
    second = build_cache(examples, tmp_path / "cache", size=32, workers=1)
    assert Path(second.images.filename).stat().st_mtime_ns == stamp
    assert second.paths == first.paths


def test_split_is_deterministic_and_follows_content():
    content = (PETS / "cat.1.jpg").read_bytes()
    assert split_of(content) == split_of(bytes(content))
    assert {split_of(i.to_bytes(4, "big")) for i in range(300)} == {"train", "val", "test"}


def test_known_duplicates_land_on_the_same_side():
    # same bytes under different names, listed in the data set's README
    for group in (["cat.3345", "cat.10360"], ["cat.6143", "cat.6204"], ["dog.2877", "dog.10401", "dog.10797"]):
        contents = [(PETS / f"{name}.jpg").read_bytes() for name in group]
        assert len(set(contents)) == 1
        assert len({split_of(c) for c in contents}) == 1


def test_split_proportions_are_about_80_10_10():
    splits = [split_of(i.to_bytes(4, "big")) for i in range(5000)]
    assert 0.77 < splits.count("train") / 5000 < 0.83
    assert 0.08 < splits.count("test") / 5000 < 0.12


def test_folds_are_balanced_and_cut_across_splits():
    contents = [f"photo {i}".encode() for i in range(5000)]
    folds = np.array([fold_of(c, 5) for c in contents])
    assert np.bincount(folds, minlength=5).min() > 900  # about 1000 each
    in_val = np.array([split_of(c) == "val" for c in contents])
    assert len(set(folds[in_val])) == 5  # folds cut across splits, not along them


@pytest.mark.parametrize("folds", [2, 3, 5, 7, 10])
def test_every_fold_is_in_range_and_used(folds):
    assigned = {fold_of(i.to_bytes(4, "big"), folds) for i in range(500)}
    assert assigned == set(range(folds))


def test_a_fold_follows_the_content_not_the_object_or_the_process():
    contents = [f"photo {i}".encode() for i in range(50)]
    here = [fold_of(bytes(bytearray(c)), 5) for c in contents]  # equal bytes, other objects
    code = ("from training.data import fold_of; "
            "print([fold_of(f'photo {i}'.encode(), 5) for i in range(50)])")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "12345"}, cwd=Path(__file__).parents[2])
    assert here == [fold_of(c, 5) for c in contents] == ast.literal_eval(other.stdout)


def test_folds_never_move():
    # sha1 of the bytes: a fold changing here would reshuffle every cross-validation and its cached results
    assert [fold_of(c, 5) for c in (b"", b"cat", b"dog", b"photo 1")] == [3, 2, 0, 2]


def test_different_contents_share_a_fold_only_by_chance():
    folds = np.array([fold_of(f"photo {i}".encode(), 5) for i in range(4000)])
    first, second = folds[:2000], folds[2000:]
    assert 0.16 < (first == second).mean() < 0.24  # one in five
    assert 0.16 < (folds[:-1] == folds[1:]).mean() < 0.24  # neighbours' contents differ by a byte


def test_a_photo_s_kind_is_its_class_or_its_name_s_prefix(tmp_path):
    from training.data import kind_of

    assert kind_of("/x/not-pets/person.12.jpg", OTHER) == kind_of("/y/everyday/person.3.jpg", OTHER) == "person"
    assert kind_of("/x/not-pets/Golf_Ball.1.jpg", OTHER) == "golf_ball"
    assert kind_of("/x/raccoons/123.jpg", OTHER) == "raccoons"  # no prefix: the folder says what it is
    assert kind_of("/x/PetImages/Cat/1.jpg", CAT) == "cat" and kind_of("/x/train/dog.1.jpg", DOG) == "dog"


def test_every_kind_is_held_out_in_exactly_one_fold():
    from training.data import kind_folds

    folds = kind_folds(["tench", "car", "person", "car", "scene", "flower", "church"], 3)
    assert sorted(folds) == ["car", "church", "flower", "person", "scene", "tench"]
    assert sorted(np.bincount(list(folds.values())).tolist()) == [2, 2, 2]
