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


def box(kind: bytes, payload: bytes, full: int | None = None) -> bytes:
    """One ISO BMFF box; `full` is the version of a full box (flags 0)."""
    body = (bytes([full, 0, 0, 0]) if full is not None else b"") + payload
    return (8 + len(body)).to_bytes(4, "big") + kind + body


def grid_bomb(width: int, height: int) -> bytes:
    """A HEIC whose primary picture is a grid of one small tile, claiming width x height in its
    grid data (in idat) while its ispe says 512x512: the size must come from the grid."""
    grid = bytes([0, 1, 0, 0]) + width.to_bytes(4, "big") + height.to_bytes(4, "big")  # 32-bit fields
    infe = box(b"infe", (1).to_bytes(2, "big") + b"\x00\x00" + b"grid" + b"\x00", full=2)
    # iloc v1: 4-byte offsets and lengths; 1 item (id 1) in idat (construction method 1), one extent
    iloc = box(b"iloc", bytes([0x44, 0x00]) + (1).to_bytes(2, "big") + (1).to_bytes(2, "big") + (1).to_bytes(2, "big")
               + b"\x00\x00" + (1).to_bytes(2, "big") + (0).to_bytes(4, "big")
               + len(grid).to_bytes(4, "big"), full=1)
    ipco = box(b"ipco", box(b"ispe", (512).to_bytes(4, "big") * 2, full=0))
    ipma = box(b"ipma", (1).to_bytes(4, "big") + (1).to_bytes(2, "big") + bytes([1, 0x81]), full=0)
    meta = box(b"meta", box(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 13, full=0)
               + box(b"pitm", (1).to_bytes(2, "big"), full=0) + box(b"iinf", (1).to_bytes(2, "big") + infe, full=0)
               + iloc + box(b"idat", grid) + box(b"iprp", ipco + ipma), full=0)
    return box(b"ftyp", b"heic" + b"\x00\x00\x00\x00" + b"mif1heic") + meta
