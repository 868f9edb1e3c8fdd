"""The label audit: its list names real Kaggle photos, a malformed row is refused, and
training leaves out exactly the audited photos (unless asked not to)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from training.config import TrainConfig
from training.data import CLASS_NAMES, Example
from training.label_audit import AUDIT_FILE, SHOWS, read_audit, without_mislabelled
from training.train import load_data
from tests.conftest import OTHERS, PETS

CAT, DOG, OTHER = (CLASS_NAMES.index(c) for c in ("cat", "dog", "other"))
HEADER = "file,filed_as,shows,what the photo shows\n"


def test_every_audited_photo_is_one_photo_here_with_a_wrong_label():
    audited = read_audit()
    assert {photo.filed_as for photo in audited.values()} == {"cat", "dog", "other"}
    for photo in audited.values():
        folders = [PETS] if photo.filed_as != "other" else TrainConfig().others
        assert len([folder for folder in folders if (Path(folder) / photo.file).is_file()]) == 1, photo.file
        assert photo.shows in SHOWS and photo.right_answer != photo.filed_as
        assert photo.description


@pytest.mark.parametrize("row, reason", [
    ("cat.1.jpg,dog,neither,a name that says cat filed as dog", "not a name"),
    ("cat.1.jpg,other,neither,not a pet label", "not a name"),
    ("cat.1.jpg,cat,cat,shows what it is filed as", "not a wrong label"),
    ("cat.1.jpg,cat,fox,not one of the answers", "not a wrong label"),
    ("cat.1.jpg,other,dog,a pet's name filed as other", "not a name"),
    ("fox.1.jpg,other,neither,a fox is other", "not a wrong label"),
    ("fox.jpg,other,dog,no kind in the name", "not a name"),
])
def test_a_malformed_row_is_refused(tmp_path: Path, row: str, reason: str):
    (tmp_path / "audit.csv").write_text(HEADER + row + "\n")
    with pytest.raises(ValueError, match=reason):
        read_audit(tmp_path / "audit.csv")


def test_a_photo_listed_twice_is_refused(tmp_path: Path):
    (tmp_path / "audit.csv").write_text(HEADER + "cat.1.jpg,cat,neither,a logo\n" * 2)
    with pytest.raises(ValueError, match="twice"):
        read_audit(tmp_path / "audit.csv")


def test_only_an_audited_name_under_its_filed_label_is_left_out(tmp_path: Path):
    (tmp_path / "audit.csv").write_text(HEADER + "cat.7.jpg,cat,neither,a logo\nfox.3.jpg,other,dog,a dog\n")
    audited = read_audit(tmp_path / "audit.csv")
    logo, dog = Example(Path("train/cat.7.jpg"), CAT), Example(Path("animals/fox.3.jpg"), OTHER)
    kept_examples = [Example(Path("train/cat.8.jpg"), CAT),
                     Example(Path("not-pets/cat.7.jpg"), OTHER),  # an "other" photo of the same name
                     Example(Path("PetImages/Cat/7.jpg"), CAT),  # another copy's id 7 is another photo
                     Example(Path("animals/fox.4.jpg"), OTHER)]
    kept, left_out = without_mislabelled([logo, *kept_examples, dog], audited)
    assert left_out == [logo, dog] and kept == kept_examples


def _small_data_set(root: Path) -> TrainConfig:
    pets, others = root / "train", root / "other"
    pets.mkdir()
    others.mkdir()
    audited = sorted(read_audit())[:2]
    for name in (*audited, "cat.1.jpg", "dog.1.jpg"):
        shutil.copy(PETS / name, pets / name)
    for photo in sorted(OTHERS.glob("*.jpg"))[:2]:
        shutil.copy(photo, others / photo.name)
    return TrainConfig(pets=[str(pets)], others=[str(others)], cache_dir=str(root / "cache"), input_size=32)


@pytest.mark.parametrize("audit", [True, False])
def test_training_data_leaves_out_the_audited_photos_unless_told_not_to(tmp_path: Path, audit: bool):
    config = _small_data_set(tmp_path)
    config.label_audit = audit
    data, left_out = load_data(config)
    names = {Path(path).name for path in data.paths}
    assert {"cat.1.jpg", "dog.1.jpg"} <= names
    audited = set(sorted(read_audit())[:2])
    assert {example.path.name for example in left_out} == (audited if audit else set())
    assert names.isdisjoint(audited) == audit
    assert len(data.paths) == 4 + (0 if audit else 2)
