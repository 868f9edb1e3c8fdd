"""Photos whose label is wrong, found by eye, left out of training and of every figure.

A photo filed as `cat.N.jpg` that shows no animal (a logo, a placeholder, a portrait), or a
cat and a dog together, has no right answer under its label: training on it teaches the
head that logos are cats, and judging on it counts a right "other" as a mistake. The same
goes for an "other" photo (`fox.11.jpg`) that shows a dog. `label_audit.csv` lists each
such photo with what it shows. They were found among the held-out and test mistakes of a
trained model (the rest of the data was not looked at), so this list can only shorten the
mistakes; the model card says how many were left out.

A photo is named by its folder and file name (`train/cat.5418.jpg`, `animals/fox.11.jpg`),
as Kaggle's download and ../shared name them, and matched only under the label it was
filed as: the same ids in another copy of the data (such as Microsoft's PetImages) are
other photos.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from app.inference.decision import CAT, CLASS_NAMES, DOG
from training.data import Example

AUDIT_FILE = Path(__file__).with_name("label_audit.csv")
COLUMNS = ("photo", "filed_as", "shows", "what the photo shows")
PET_NAMES = (CLASS_NAMES[CAT], CLASS_NAMES[DOG])
SHOWS = ("neither", "both", *PET_NAMES)  # what an audited photo shows instead of its label


@dataclass(frozen=True)
class AuditedPhoto:
    photo: str  # folder and file name, e.g. train/cat.5418.jpg
    filed_as: str  # the label it was trained under: cat, dog or other
    shows: str  # one of SHOWS
    description: str

    @property
    def right_answer(self) -> str | None:
        """What the model should say: None for a cat and a dog together, which has no one answer."""
        return {"neither": "other", "both": None}.get(self.shows, self.shows)


def audit_name(path: str | Path) -> str:
    """How the audit names a photo: its folder and file name."""
    path = Path(path)
    return f"{path.parent.name}/{path.name}"


def read_audit(path: Path = AUDIT_FILE) -> dict[str, AuditedPhoto]:
    """The audited photos by audit name; a malformed row is an error, not a skipped line."""
    audited = {}
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: the columns must be {', '.join(COLUMNS)}")
        for row in reader:
            if None in row or None in row.values():
                raise ValueError(f"{path}, line {reader.line_num}: not {len(COLUMNS)} fields (quote a comma)")
            photo = AuditedPhoto(*(row[column] for column in COLUMNS))
            _check(photo, path)
            if photo.photo in audited:
                raise ValueError(f"{path}: {photo.photo} is listed twice")
            audited[photo.photo] = photo
    return audited


def _check(photo: AuditedPhoto, path: Path) -> None:
    """A pet's file name starts with its label and an "other" photo's with a kind, then `.N.`;
    what it shows is one of SHOWS and not what it was filed as."""
    name = Path(photo.photo).name
    kind = name.split(".", 1)[0]
    named_as_filed = kind == photo.filed_as if kind in PET_NAMES else photo.filed_as == "other"
    if not (named_as_filed and name.count(".") >= 2 and "/" in photo.photo):
        raise ValueError(f"{path}: {photo.photo} is not a folder/kind.N.jpg name filed as {photo.filed_as!r}")
    if photo.shows not in SHOWS:
        raise ValueError(f"{path}: {photo.photo} shows {photo.shows!r}, not one of {', '.join(SHOWS)}")
    if photo.right_answer == photo.filed_as:
        raise ValueError(f"{path}: {photo.photo} shows {photo.shows!r}, which is not a wrong label")


def without_mislabelled(examples: list[Example], audited: dict[str, AuditedPhoto]) -> tuple[list[Example], list[Example]]:
    """(kept, left out): a photo is left out when its audit name and label are an audited one's."""
    kept, left_out = [], []
    for example in examples:
        photo = audited.get(audit_name(example.path))
        if photo is not None and CLASS_NAMES[example.label] == photo.filed_as:
            left_out.append(example)
        else:
            kept.append(example)
    return kept, left_out
