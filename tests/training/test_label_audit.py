"""The label audit: its list names real photos of ../shared, a malformed row is refused,
training leaves out exactly the audited photos (unless asked not to), and the contract
says how many."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.inference.contract import Contract
from training.config import TrainConfig
from training.data import CLASS_NAMES, Example
from training.label_audit import SHOWS, audit_name, read_audit, without_mislabelled
from training.train import load_data, main
from tests.conftest import OTHERS, PETS

CAT, OTHER = CLASS_NAMES.index("cat"), CLASS_NAMES.index("other")
HEADER = "photo,filed_as,shows,what the photo shows\n"


def test_every_audited_photo_is_one_photo_here_with_a_wrong_label():
    audited = read_audit()
    assert {photo.filed_as for photo in audited.values()} == {"cat", "dog", "other"}
    folders = {Path(folder).name: Path(folder) for folder in TrainConfig().pets + TrainConfig().others}
    for photo in audited.values():
        folder, name = photo.photo.split("/")
        assert (folders[folder] / name).is_file(), photo.photo
        assert photo.right_answer != photo.filed_as and photo.description


@pytest.mark.parametrize("row, reason", [
    ("train/cat.1.jpg,dog,neither,a name that says cat filed as dog", "not a folder/kind.N.jpg name"),
    ("train/cat.1.jpg,other,neither,a pet's name filed as other", "not a folder/kind.N.jpg name"),
    ("train/cat.jpg,cat,neither,no id in the name", "not a folder/kind.N.jpg name"),
    ("cat.1.jpg,cat,neither,no folder", "not a folder/kind.N.jpg name"),
    ("animals/fox.jpg,other,dog,no id in the name", "not a folder/kind.N.jpg name"),
    ("train/cat.1.jpg,cat,fox,not one of the answers", "not one of"),
    ("train/cat.1.jpg,cat,cat,shows what it is filed as", "not a wrong label"),
    ("animals/fox.1.jpg,other,neither,a fox is other", "not a wrong label"),
    ("train/cat.1.jpg,cat,neither,a logo, unquoted", "not 4 fields"),
    ("train/cat.1.jpg,cat,neither", "not 4 fields"),
])
def test_a_malformed_row_is_refused(tmp_path: Path, row: str, reason: str):
    (tmp_path / "audit.csv").write_text(HEADER + row + "\n")
    with pytest.raises(ValueError, match=reason):
        read_audit(tmp_path / "audit.csv")


def test_a_photo_listed_twice_or_a_missing_column_is_refused(tmp_path: Path):
    (tmp_path / "audit.csv").write_text(HEADER + "train/cat.1.jpg,cat,neither,a logo\n" * 2)
    with pytest.raises(ValueError, match="twice"):
        read_audit(tmp_path / "audit.csv")
    (tmp_path / "audit.csv").write_text("photo,filed_as,shows\ntrain/cat.1.jpg,cat,neither\n")
    with pytest.raises(ValueError, match="columns"):
        read_audit(tmp_path / "audit.csv")


def test_only_an_audited_photo_under_its_filed_label_is_left_out(tmp_path: Path):
    (tmp_path / "audit.csv").write_text(HEADER + "train/cat.7.jpg,cat,neither,a logo\nanimals/fox.3.jpg,other,dog,a dog\n")
    audited = read_audit(tmp_path / "audit.csv")
    logo, dog = Example(Path("/data/train/cat.7.jpg"), CAT), Example(Path("/data/animals/fox.3.jpg"), OTHER)
    kept_examples = [Example(Path("/data/train/cat.8.jpg"), CAT),
                     Example(Path("/data/train/cat.7.jpg"), OTHER),  # filed under another label
                     Example(Path("/data/mine/cat.7.jpg"), CAT),  # another folder's cat.7 is another photo
                     Example(Path("/data/PetImages/Cat/7.jpg"), CAT),  # and so is another copy's id 7
                     Example(Path("/data/animals/fox.4.jpg"), OTHER)]
    kept, left_out = without_mislabelled([logo, *kept_examples, dog], audited)
    assert left_out == [logo, dog] and kept == kept_examples
    assert audit_name(logo.path) == "train/cat.7.jpg"


def _audited_here() -> set[str]:
    """The file names of two audited Kaggle photos and an audited photo of not-pets/."""
    pets = [Path(photo).name for photo in sorted(read_audit()) if photo.startswith("train/")]
    others = [Path(photo).name for photo in sorted(read_audit()) if photo.startswith("not-pets/")]
    return set(pets[:2] + others[:1])


def _small_data_set(root: Path, right_per_folder: int = 2) -> TrainConfig:
    """Kaggle's train/ and ../shared's not-pets/ in miniature: a few rightly labelled photos in each
    folder (cats and dogs taken in turn), and the audited ones."""
    pets, others = root / "train", root / "not-pets"
    pets.mkdir()
    others.mkdir()
    audited = {Path(photo).name for photo in read_audit() if photo.startswith(("train/", "not-pets/"))}
    right_pets = [name for name in (f"{pet}.{number}.jpg" for number in range(1, 100) for pet in ("cat", "dog"))
                  if name not in audited][:right_per_folder]
    for name in (*right_pets, *_audited_here()):
        is_pet = name.split(".")[0] in ("cat", "dog")
        shutil.copy((PETS if is_pet else OTHERS) / name, (pets if is_pet else others) / name)
    right_others = [photo for photo in sorted(OTHERS.glob("*.jpg")) if photo.name not in audited]
    for photo in right_others[:right_per_folder]:
        shutil.copy(photo, others / photo.name)
    return TrainConfig(pets=[str(pets)], others=[str(others)], cache_dir=str(root / "cache"), input_size=32)


@pytest.mark.parametrize("audit", [True, False])
def test_training_data_leaves_out_the_audited_photos_unless_told_not_to(tmp_path: Path, audit: bool):
    config = _small_data_set(tmp_path)
    config.label_audit = audit
    data, left_out = load_data(config)
    names = {Path(path).name for path in data.paths}
    audited = _audited_here()
    assert len(audited) == 3 and {"cat.1.jpg", "dog.1.jpg"} <= names
    assert {example.path.name for example in left_out} == (audited if audit else set())
    assert names.isdisjoint(audited) == audit
    assert len(data.paths) == 4 + (0 if audit else 3)


@pytest.mark.slow
def test_a_training_run_records_how_many_photos_were_left_out(tmp_path: Path):
    """Through `training.train.main`, the path `make train` takes, on the smallest model."""
    config = _small_data_set(tmp_path, right_per_folder=24)
    run_dir = tmp_path / "run"
    contract = main(["--model=simple-cnn", f"--pets={config.pets[0]}", f"--others={config.others[0]}",
                     "--input_size=32", "--scratch_epochs=1", "--steps_per_epoch=1", "--batch_size=8",
                     f"--run_dir={run_dir}", f"--cache_dir={config.cache_dir}"])
    assert contract.training_data.mislabelled_left_out == 3
    assert Contract.read_json(run_dir / "contract.json").training_data.mislabelled_left_out == 3
