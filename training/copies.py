"""Find near-copies among photos, so that copies never straddle a split or a fold.

Some collections hold edited copies of the same photo (rotated, mirrored,
zoomed, brightened: the Face-Mask-Detection people in `everyday/`). Hashing
file bytes cannot see those, so each photo gets a small signature: the middle
of the photo in grey, shrunk to 16x16, centred and scaled to unit length, and
the same for its mirror image. Two photos whose signatures correlate above
`threshold` (either way round) are copies; copies of copies are one group.

The threshold is high so that different photos of one kind of thing (two
flowers, two golf balls) stay apart, and low enough to join the edited copies.
The signature sees mirrored, re-encoded, brightened and slightly rotated or
zoomed copies; a copy rotated or zoomed further is beyond it and may land in
another split. Cross-validation holds whole kinds out, so the held-out-kinds
figures do not depend on it.
"""

from __future__ import annotations

import cv2
import numpy as np

THRESHOLD = 0.9


def signatures(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 RGB (N, h, w, 3) -> (N, 256) signatures of the photos and of their mirror images."""
    plain, mirrored = [], []
    for image in images:
        grey = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
        margin = int(grey.shape[0] * 0.15)  # the middle: rotation leaves its marks at the edges
        small = cv2.resize(grey[margin:-margin or None, margin:-margin or None], (16, 16),
                           interpolation=cv2.INTER_AREA)
        plain.append(_unit(small))
        mirrored.append(_unit(small[:, ::-1]))
    return np.array(plain), np.array(mirrored)


def _unit(grid: np.ndarray) -> np.ndarray:
    centred = grid.ravel() - grid.mean()
    return centred / (np.linalg.norm(centred) + 1e-6)


def copy_groups(images: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """(N,) group number of each photo: photos that are copies of each other share one,
    numbered by their first member, so a photo with no copy is its own group."""
    plain, mirrored = signatures(images)
    similar = np.maximum(plain @ plain.T, plain @ mirrored.T) > threshold
    parent = np.arange(len(images))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(similar, k=1))):
        a, b = root(i), root(j)
        parent[max(a, b)] = min(a, b)  # the first member stays the root
    return np.array([root(i) for i in range(len(images))])
