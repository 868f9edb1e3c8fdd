"""What a HEIF file (HEIC, AVIF) says about its main picture, read from its boxes.

HEIC and AVIF are the same container (ISO base media file format, ISO/IEC
23008-12) around different codecs. Reading its boxes, without decoding, gives
the brand (which decoder), the declared dimensions (so a decompression bomb is
refused before any pixel is allocated) and the rotation and mirroring the
decoder must apply (`irot`, `imir`: a phone stores the sensor's pixels and
says how to turn them). Pure Python; a damaged file gives None and the decoder
then judges it; a file whose tables ask for more reading than any photo needs
raises Malformed, so that no one file can keep a worker busy parsing.
"""

from __future__ import annotations

import struct
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

AVIF_BRANDS = frozenset({b"avif", b"avis"})
# HEVC-coded brands, and the generic image brands that HEVC files (Apple's, Samsung's) carry
HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_MAX_BOXES = 4096  # a real file has a few dozen; a crafted one must not make us loop for long
# Entries read from iinf, iloc and ipma, all loops together: a phone's photo has a few hundred at most
# (tiles, thumbnails, EXIF); each costs about a microsecond, so this bounds a crafted file's cost.
_MAX_STEPS = 16_384


class Malformed(ValueError):
    """The item tables ask for more reading than any real picture needs: a file built to stall us."""


class _Steps:
    """One budget of table entries for a whole reading, shared by every loop that reads them."""

    def __init__(self, limit: int = _MAX_STEPS):
        self.left = limit

    def take(self, n: int = 1) -> None:
        self.left -= n
        if self.left < 0:
            raise Malformed("the item tables list more entries than any picture needs")


@dataclass(frozen=True)
class Transform:
    """One transformative property, in the order the file lists them for the picture."""

    kind: str  # "rotate": quarter turns anticlockwise; "mirror": 0 = top and bottom exchanged, 1 = left and right (libheif's reading)
    value: int


@dataclass
class HeifHeader:
    width: int  # the largest picture declared (ispe, grid or overlay: primary, tiles, thumbnails): what decoding may allocate
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
    """Dimensions and orientation from the meta box, or None if the boxes cannot be read.

    Raises Malformed, at once, for tables built to make reading them slow."""
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
    steps = _Steps()
    properties = [(k, s, e) for k, s, e in _boxes(data, *ipco)]
    sizes = [struct.unpack_from(">II", data, s + 4) for k, s, _ in properties if k == b"ispe"]
    sizes += _derived_sizes(data, start, end, steps)
    if not sizes:
        return None
    width, height = max(sizes, key=lambda wh: wh[0] * wh[1])
    primary = _primary_item(data, start, end)
    ipma = _child(data, *iprp, b"ipma")
    indices = _associations(data, *ipma, steps).get(primary, []) if ipma and primary is not None else []
    own = [properties[i - 1] for i in indices if 0 < i <= len(properties)]
    transforms = [_transform(data, box) for box in own]
    return HeifHeader(width, height, [t for t in transforms if t is not None], _bit_depth(data, own or properties))


# Where a derived item's data states the size of the picture it builds (ISO/IEC 23008-12):
# grid: version, flags, rows - 1, columns - 1; iovl: version, flags, four 16-bit fill values.
_OUTPUT_SIZE_AT = {b"grid": 4, b"iovl": 10}


def _derived_sizes(data: bytes, start: int, end: int, steps: _Steps) -> list[tuple[int, int]]:
    """Output (width, height) of every grid and overlay item: the canvas libheif allocates,
    which need not match the item's ispe (its tiles or layers may all be one tiny picture)."""
    kinds = _item_types(data, start, end, _OUTPUT_SIZE_AT.keys(), steps)
    iloc = _child(data, start, end, b"iloc")
    if not kinds or iloc is None:
        return []
    idat = _child(data, start, end, b"idat")
    sizes = []
    for item, offset in _item_offsets(data, *iloc, set(kinds), idat[0] if idat else None, steps).items():
        wide = data[offset + 1] & 1 if offset + 1 < len(data) else 0  # flags: 32- or 16-bit fields
        at, fields = offset + _OUTPUT_SIZE_AT[kinds[item]], ">II" if wide else ">HH"
        if at + struct.calcsize(fields) <= len(data):  # else libheif finds the item cut off
            sizes.append(struct.unpack_from(fields, data, at))
    return sizes


def _item_types(data: bytes, start: int, end: int, wanted: Collection[bytes], steps: _Steps) -> dict[int, bytes]:
    """{item id: type} of the items whose type is one of `wanted`, in one walk of iinf."""
    iinf = _child(data, start, end, b"iinf")
    if iinf is None:
        return {}
    first = iinf[0] + 4 + (4 if data[iinf[0]] else 2)  # full box, then the entry count
    items = {}
    for box, s, _ in _boxes(data, first, iinf[1]):
        steps.take()
        version = data[s] if box == b"infe" else 0
        if version >= 2:
            item = struct.unpack_from(">I" if version == 3 else ">H", data, s + 4)[0]
            type_at = s + 4 + (4 if version == 3 else 2) + 2  # then item_protection_index
            kind = data[type_at:type_at + 4]
            if kind in wanted:
                items[item] = kind
    return items


def _item_offsets(data: bytes, start: int, end: int, items: set[int], idat: int | None,
                  steps: _Steps) -> dict[int, int]:
    """Where in the file each of these items' data begins (iloc: in the file or in idat)."""
    version = data[start]
    offset_size, length_size = data[start + 4] >> 4, data[start + 4] & 15
    base_size, index_size = data[start + 5] >> 4, (data[start + 5] & 15) if version in (1, 2) else 0
    extent_size = index_size + offset_size + length_size
    position = start + 6
    count, position = _uint(data, position, 4 if version == 2 else 2)
    offsets = {}
    for _ in range(count):
        steps.take()
        item, position = _uint(data, position, 4 if version == 2 else 2)
        method = 0
        if version in (1, 2):
            method, position = _uint(data, position, 2)
            method &= 15
        position += 2  # data_reference_index
        base, position = _uint(data, position, base_size)
        extents, position = _uint(data, position, 2)
        if extents > 1 and extent_size == 0:  # extents of no bytes: reading them would never advance
            raise Malformed("iloc lists several extents of zero bytes")
        first = None if extents == 0 else _uint(data, position + index_size, offset_size)[0]
        position += extents * extent_size
        if position > end:
            break
        if item in items and first is not None and method in (0, 1):
            at = base + first + (idat if method == 1 and idat is not None else 0)
            if method == 0 or idat is not None:
                offsets[item] = at
    return offsets


def _uint(data: bytes, position: int, size: int) -> tuple[int, int]:
    return int.from_bytes(data[position:position + size], "big"), position + size


def _primary_item(data: bytes, start: int, end: int) -> int | None:
    pitm = _child(data, start, end, b"pitm")
    if pitm is None:
        return None
    version = data[pitm[0]]
    return struct.unpack_from(">I" if version else ">H", data, pitm[0] + 4)[0]


def _associations(data: bytes, start: int, end: int, steps: _Steps) -> dict[int, list[int]]:
    """ipma: item id -> the 1-based indices of its properties in ipco, in the file's order."""
    version, flags = data[start], int.from_bytes(data[start + 1:start + 4], "big")
    (count,), position = struct.unpack_from(">I", data, start + 4), start + 8
    wide = flags & 1
    items: dict[int, list[int]] = {}
    for _ in range(count):
        item = struct.unpack_from(">I" if version else ">H", data, position)[0]
        position += 4 if version else 2
        n = data[position]
        position += 1
        steps.take(1 + n)
        if position + n * (2 if wide else 1) > end:
            break
        indices = []
        for _ in range(n):
            raw = struct.unpack_from(">H" if wide else ">B", data, position)[0]
            position += 2 if wide else 1
            indices.append(raw & (0x7FFF if wide else 0x7F))  # the top bit marks "essential"
        items[item] = indices
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
