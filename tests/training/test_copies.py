"""Near-copies (edited copies of one photo) are found, and never straddle a split."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.inference.preprocess import preprocess
from training.cache import build_cache
from training.copies import copy_groups
from training.data import find_other_examples, split_of
from tests.conftest import DATASETS, encode

EVERYDAY = DATASETS / "everyday"


def edited_copies(rgb: np.ndarray) -> list[np.ndarray]:
    """Mild versions of what the people collection did to its photos: mirror, rotate,
    zoom, brighten (heavier edits are beyond the signature: see training/copies.py)."""
    h, w = rgb.shape[:2]
    rotate = cv2.getRotationMatrix2D((w / 2, h / 2), 4, 1.0)
    zoom = cv2.resize(rgb[h // 40:-h // 40, w // 40:-w // 40], (w, h))
    return [rgb[:, ::-1], cv2.warpAffine(rgb, rotate, (w, h), borderMode=cv2.BORDER_REFLECT), zoom,
            np.clip(rgb.astype(np.int16) + 20, 0, 255).astype(np.uint8)]


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    names = ["person.0.jpg", "person.9.jpg", "person.10.jpg", "clothing.0.jpg", "scene.0.jpg", "scene.60.jpg"]
    return [preprocess((EVERYDAY / name).read_bytes(), 128) for name in names]


def test_edited_copies_are_one_group_and_other_photos_their_own(photos):
    original, others = photos[0], photos[1:]
    images = np.stack([original, *edited_copies(original), *others])
    groups = copy_groups(images)
    assert groups[:5].tolist() == [0] * 5  # numbered by the first member
    assert groups[5:].tolist() == list(range(5, len(images)))


def test_the_cache_keeps_copies_of_a_photo_in_one_split(photos, tmp_path):
    folder = tmp_path / "everyday"
    folder.mkdir()
    copies = [photos[0], *edited_copies(photos[0])] * 2  # 10 files of 5 looks, each written at 2 qualities
    contents = [encode(rgb, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 80 + i]) for i, rgb in enumerate(copies)]
    for i, content in enumerate(contents):
        (folder / f"person.{i}.jpg").write_bytes(content)
    for i, rgb in enumerate(photos[1:]):
        (folder / f"clothing.{i}.jpg").write_bytes(encode(rgb, ".jpg"))
    assert len({split_of(c) for c in contents}) > 1  # by their bytes alone they would straddle splits

    data = build_cache(find_other_examples(folder), tmp_path / "cache", size=64, workers=1)
    split_of_file = {path.rsplit("/", 1)[-1]: split for path, split in zip(data.paths, data.splits)}
    assert len({split_of_file[f"person.{i}.jpg"] for i in range(len(contents))}) == 1
