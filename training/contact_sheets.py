"""Contact sheets of misclassified photos, worst first, each captioned 'true>predicted confidence'."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.inference.decision import OTHER, decide

MISCLASSIFIED = "misclassified.jpg"  # test photos answered wrong
HELD_OUT_OTHER = "held-out-other-mistakes.jpg"  # held-out "other" photos called cat or dog
HELD_OUT_PETS = "held-out-pets-called-other.jpg"  # held-out cats and dogs called "other"
CAPTION_HEIGHT = 18  # pixels under each tile


def contact_sheet(predictions: dict, names: list[str], path: Path, tile: int = 128, columns: int = 8,
                  limit: int = 48, among: np.ndarray | None = None) -> int:
    """The misclassified photos (among those `among` marks, if given), the `limit` most confident
    first, written to `path`. Returns how many were misclassified in all."""
    probabilities, labels, paths = predictions["probabilities"], predictions["labels"], predictions["paths"]
    predicted = decide(probabilities)
    wrong = np.flatnonzero((predicted != labels) & (among if among is not None else True))
    count = len(wrong)
    wrong = wrong[np.argsort(-probabilities[wrong].max(axis=1))][:limit]
    if len(wrong) == 0:
        return 0
    rows = int(np.ceil(len(wrong) / columns))
    sheet = np.full((rows * (tile + CAPTION_HEIGHT), columns * tile, 3), 255, np.uint8)
    for k, i in enumerate(wrong):
        caption = f"{names[labels[i]]}>{names[predicted[i]]} {probabilities[i].max():.2f}"
        _place(sheet, Path(paths[i]), caption, (k // columns) * (tile + CAPTION_HEIGHT), (k % columns) * tile, tile)
    cv2.imwrite(str(path), sheet)
    return count


def _place(sheet: np.ndarray, photo: Path, caption: str, y: int, x: int, tile: int) -> None:
    """One photo shrunk to a tile at (y, x) with its caption below; an unreadable photo leaves a blank."""
    image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    if image is None:
        return
    sheet[y:y + tile, x:x + tile] = cv2.resize(image, (tile, tile), interpolation=cv2.INTER_AREA)
    cv2.putText(sheet, caption, (x + 2, y + tile + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)


def held_out_sheets(held_out: dict, names: list[str], folder: Path) -> tuple[int, int]:
    """The held-out "other" photos called cat or dog, and the held-out pets called "other",
    as two sheets in `folder`; returns how many of each there were."""
    labels = held_out["labels"]
    others_wrong = contact_sheet(held_out, names, folder / HELD_OUT_OTHER, among=labels == OTHER)
    pets_rejected = contact_sheet(held_out, names, folder / HELD_OUT_PETS,
                                  among=(labels != OTHER) & (decide(held_out["probabilities"]) == OTHER))
    return others_wrong, pets_rejected
