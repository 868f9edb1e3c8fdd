"""Photos whose label is wrong, found by eye, left out of training and of every figure.

A photo filed as `cat.N.jpg` that shows no animal (a logo, a placeholder, a portrait), or a
cat and a dog together, has no right answer under its label: training on it teaches the
head that logos are cats, and judging on it counts a right "other" as a mistake. The same
goes for an "other" photo (`fox.11.jpg`) that shows a dog. `label_audit.csv` lists each
such photo with what it shows. They were found among the held-out and test mistakes of a
trained model (the rest of the data was not looked at), so this list can only shorten the
mistakes; the model card says how many were left out.

A photo is matched by its file name under the label it was filed as, as the data sets in
../shared name them (`cat.N.jpg`, `<kind>.N.jpg`): the same ids in another copy of the
data (such as Microsoft's PetImages) are other photos.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from training.data import CLASS_NAMES, Example

AUDIT_FILE = Path(__file__).with_name("label_audit.csv")
SHOWS = ("neither", "both", "cat", "dog")  # what an audited photo shows instead of its label


@dataclass(frozen=True)
class AuditedPhoto:
    file: str  # file name, e.g. cat.5418.jpg or fox.11.jpg
    filed_as: str  # the label it was trained under: cat, dog or other
    shows: str  # one of SHOWS
    description: str

    @property
    def right_answer(self) -> str | None:
        """What the model should say: None for a cat and a dog together, which has no one answer."""
        return {"neither": "other", "both": None}.get(self.shows, self.shows)


def read_audit(path: Path = AUDIT_FILE) -> dict[str, AuditedPhoto]:
    """The audited photos by file name; a malformed row is an error, not a skipped line."""
    audited = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            photo = AuditedPhoto(row["file"], row["filed_as"], row["shows"], row["what the photo shows"])
            if not _named_as_filed(photo):
                raise ValueError(f"{path}: {photo.file} is not a name filed as {photo.filed_as!r}")
            if photo.shows not in SHOWS or photo.right_answer == photo.filed_as:
                raise ValueError(f"{path}: {photo.file} shows {photo.shows!r}, which is not a wrong label")
            if photo.file in audited:
                raise ValueError(f"{path}: {photo.file} is listed twice")
            audited[photo.file] = photo
    return audited


def _named_as_filed(photo: AuditedPhoto) -> bool:
    """A pet's name starts with its label; an "other" photo's with a kind that is not a pet."""
    prefix = photo.file.split(".", 1)[0]
    if photo.filed_as in ("cat", "dog"):
        return prefix == photo.filed_as
    return photo.filed_as == "other" and prefix not in ("cat", "dog") and photo.file.count(".") >= 2


def without_mislabelled(examples: list[Example], audited: dict[str, AuditedPhoto]) -> tuple[list[Example], list[Example]]:
    """(kept, left out): a photo is left out when its file name and label are an audited one's."""
    kept, left_out = [], []
    for example in examples:
        photo = audited.get(example.path.name)
        if photo is not None and CLASS_NAMES[example.label] == photo.filed_as:
            left_out.append(example)
        else:
            kept.append(example)
    return kept, left_out
