"""HEIC and AVIF test photos, made from arrays at test time (no fixture files in the repo).

HEIC is encoded with pillow-heif, whose wheel bundles the GPL x265 encoder: it is a
test-only requirement (requirements-train.txt) and never reaches the serving image,
which decodes with pi-heif (LGPL, decode-only). AVIF is encoded with Pillow's own
AVIF plugin, which also writes the orientation as irot/imir boxes.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

EXIF_ORIENTATION = 0x0112


def _save(rgb: np.ndarray, fmt: str, orientation: int | None, quality: int) -> bytes:
    options: dict = {"quality": quality}
    if orientation is not None:  # the encoders turn it into irot/imir, as phones do
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = orientation
        options["exif"] = exif.tobytes()
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format=fmt, **options)
    return out.getvalue()


def heic(rgb: np.ndarray, orientation: int | None = None, quality: int = 90) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return _save(rgb, "HEIF", orientation, quality)


def avif(rgb: np.ndarray, orientation: int | None = None, quality: int = 90) -> bytes:
    return _save(rgb, "AVIF", orientation, quality)


def displayed(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """How a viewer shows pixels stored with this EXIF orientation (Pillow's reading of the tag)."""
    from PIL import ImageOps

    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[EXIF_ORIENTATION] = orientation
    image.info["exif"] = exif.tobytes()
    return np.asarray(ImageOps.exif_transpose(image))


def patch_dimensions(data: bytes, width: int, height: int) -> bytes:
    """The same file with every ispe box claiming width x height (a decompression bomb)."""
    out = bytearray(data)
    position = out.find(b"ispe")
    while position != -1:
        out[position + 8:position + 16] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
        position = out.find(b"ispe", position + 4)
    return bytes(out)
