"""What a HEIF file (HEIC, AVIF) says about its main picture, read from its boxes.

HEIC and AVIF are the same container (ISO base media file format, ISO/IEC
23008-12) around different codecs. Reading its boxes, without decoding, gives
the brand (which decoder), the declared dimensions (so a decompression bomb is
refused before any pixel is allocated) and the rotation and mirroring the
decoder must apply (`irot`, `imir`: a phone stores the sensor's pixels and
says how to turn them). Pure Python; a damaged file gives None, never an
exception, and the decoder then judges it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

AVIF_BRANDS = frozenset({b"avif", b"avis"})
# HEVC-coded brands, and the generic image brands that HEVC files (Apple's, Samsung's) carry
HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_MAX_BOXES = 4096  # a real file has a few dozen; a crafted one must not make us loop for long


@dataclass(frozen=True)
class Transform:
    """One transformative property, in the order the file lists them for the picture."""

    kind: str  # "rotate": quarter turns anticlockwise; "mirror": 0 = top and bottom exchanged, 1 = left and right (libheif's reading)
    value: int


@dataclass
class HeifHeader:
    width: int  # the largest picture declared (primary, tiles or thumbnails): what decoding may allocate
    height: int
    transforms: list[Transform] = field(default_factory=list)  # of the primary picture
    bit_depth: int = 8  # of AV1 pictures (av1C): OpenCV gives 10- and 12-bit AVIF unscaled in uint16


def brand(data: bytes) -> str | None:
    """'avif' or 'heic' from the ftyp box's major and compatible brands, else None."""
    if data[4:8] != b"ftyp":
        return None
    size = int.from_bytes(data[0:4], "big")
    if not 16 <= size <= min(len(data), 1024):
        return None
    brands = {data[8:12]} | {data[i:i + 4] for i in range(16, size - 3, 4)}
    if brands & AVIF_BRANDS:  # AVIF files list mif1 too: AV1 wins
        return "avif"
    if brands & HEIC_BRANDS:
        return "heic"
    return None


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:end]."""
    position, count = start, 0
    while position + 8 <= end and count < _MAX_BOXES:
        size, kind = struct.unpack_from(">I4s", data, position)
        header = 8
        if size == 1:
            if position + 16 > end:
                return
            size, header = struct.unpack_from(">Q", data, position + 8)[0], 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            return
        yield kind, position + header, position + size
        position += size
        count += 1


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    return next(((s, e) for k, s, e in _boxes(data, start, end) if k == kind), None)


def read_header(data: bytes) -> HeifHeader | None:
    """Dimensions and orientation from the meta box, or None if the boxes cannot be read."""
    try:
        return _read_header(data)
    except (struct.error, IndexError):
        return None


def _read_header(data: bytes) -> HeifHeader | None:
    meta = _child(data, 0, len(data), b"meta")
    if meta is None:
        return None
    start, end = meta[0] + 4, meta[1]  # meta is a full box: version and flags first
    iprp = _child(data, start, end, b"iprp")
    ipco = _child(data, *iprp, b"ipco") if iprp else None
    if ipco is None:
        return None
    properties = [(k, s, e) for k, s, e in _boxes(data, *ipco)]
    sizes = [struct.unpack_from(">II", data, s + 4) for k, s, _ in properties if k == b"ispe"]
    if not sizes:
        return None
    width, height = max(sizes, key=lambda wh: wh[0] * wh[1])
    primary = _primary_item(data, start, end)
    ipma = _child(data, *iprp, b"ipma")
    indices = _associations(data, *ipma).get(primary, []) if ipma and primary is not None else []
    own = [properties[i - 1] for i in indices if 0 < i <= len(properties)]
    transforms = [_transform(data, box) for box in own]
    return HeifHeader(width, height, [t for t in transforms if t is not None], _bit_depth(data, own or properties))


def _primary_item(data: bytes, start: int, end: int) -> int | None:
    pitm = _child(data, start, end, b"pitm")
    if pitm is None:
        return None
    version = data[pitm[0]]
    return struct.unpack_from(">I" if version else ">H", data, pitm[0] + 4)[0]


def _associations(data: bytes, start: int, end: int) -> dict[int, list[int]]:
    """ipma: item id -> the 1-based indices of its properties in ipco, in the file's order."""
    version, flags = data[start], int.from_bytes(data[start + 1:start + 4], "big")
    (count,), position = struct.unpack_from(">I", data, start + 4), start + 8
    items: dict[int, list[int]] = {}
    for _ in range(min(count, _MAX_BOXES)):
        item = struct.unpack_from(">I" if version else ">H", data, position)[0]
        position += 4 if version else 2
        n = data[position]
        position += 1
        wide = flags & 1
        indices = []
        for _ in range(n):
            raw = struct.unpack_from(">H" if wide else ">B", data, position)[0]
            position += 2 if wide else 1
            indices.append(raw & (0x7FFF if wide else 0x7F))  # the top bit marks "essential"
        items[item] = indices
        if position > end:
            break
    return items


def _bit_depth(data: bytes, properties: list[tuple[bytes, int, int]]) -> int:
    """From the AV1 codec configuration: byte 2 holds high_bitdepth (0x40) and twelve_bit (0x20)."""
    flags = next((data[s + 2] for k, s, e in properties if k == b"av1C" and e - s >= 3), 0)
    return 12 if flags & 0x60 == 0x60 else 10 if flags & 0x40 else 8


def _transform(data: bytes, box: tuple[bytes, int, int]) -> Transform | None:
    kind, start, end = box
    if end <= start:
        return None
    if kind == b"irot":
        return Transform("rotate", data[start] & 0x03)
    if kind == b"imir":
        return Transform("mirror", data[start] & 0x01)
    return None
