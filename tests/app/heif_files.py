"""Hand-built HEIC files whose boxes lie: item tables and derived items no encoder would write."""

from __future__ import annotations

from tests.images import box


def heif_with_tables(iloc: bytes, ipma: bytes | None = None, kind: bytes = b"grid", idat: bytes = b"",
                     iloc_version: int = 0, tiles: int = 0) -> bytes:
    """A HEIC whose primary item 1 is a derived item of this kind (so iloc is read), with a 64x64
    ispe, these iloc, ipma and idat payloads, and `tiles` more items listed in iinf."""
    infe = b"".join(box(b"infe", item.to_bytes(2, "big") + b"\x00\x00" + (kind if item == 1 else b"hvc1") + b"\x00",
                        full=2) for item in range(1, tiles + 2))
    ipco = box(b"ipco", box(b"ispe", (64).to_bytes(4, "big") * 2, full=0))
    ipma = ipma or (1).to_bytes(4, "big") + (1).to_bytes(2, "big") + bytes([1, 0x81])
    meta = box(b"meta", box(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 13, full=0)
               + box(b"pitm", (1).to_bytes(2, "big"), full=0) + box(b"iinf", (tiles + 1).to_bytes(2, "big") + infe, full=0)
               + box(b"iloc", iloc, full=iloc_version) + (box(b"idat", idat) if idat else b"")
               + box(b"iprp", ipco + box(b"ipma", ipma, full=0)), full=0)
    return box(b"ftyp", b"heic" + b"\x00\x00\x00\x00" + b"mif1heic") + meta


def iloc_v0(items: int, extents: int, field_sizes: int) -> bytes:
    """iloc version 0: `field_sizes` is offset_size << 4 | length_size; every extent is zeros."""
    extent = bytes((field_sizes >> 4) + (field_sizes & 15))
    entry = b"\x00\x00" + extents.to_bytes(2, "big") + extent * extents  # data_reference_index, count
    return bytes([field_sizes, 0]) + items.to_bytes(2, "big") + b"".join(
        i.to_bytes(2, "big") + entry for i in range(1, items + 1))


def overlay_bomb(width: int, height: int) -> bytes:
    """An overlay (iovl) primary item whose ispe says 64x64 and whose canvas, in idat, is
    width x height: libheif allocates the canvas, so that is the size to judge."""
    iovl = bytes([0, 1]) + b"\xff\xff" * 4 + width.to_bytes(4, "big") + height.to_bytes(4, "big")  # 32-bit
    # iloc v1: 4-byte offsets and lengths; item 1 in idat (construction method 1), one extent
    iloc = (bytes([0x44, 0x00]) + (1).to_bytes(2, "big") + (1).to_bytes(2, "big") + (1).to_bytes(2, "big")
            + b"\x00\x00" + (1).to_bytes(2, "big") + (0).to_bytes(4, "big") + len(iovl).to_bytes(4, "big"))
    return heif_with_tables(iloc, kind=b"iovl", idat=iovl, iloc_version=1)
