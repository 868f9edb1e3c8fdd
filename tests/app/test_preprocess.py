"""The shared preprocessing: every format we promise, and every way a file can be bad."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from app.inference.preprocess import (ImageError, decode_image, image_dimensions, preprocess,
                                      resize_for_model, sniff_format)
from tests import images
from tests.app.heif_files import heif_with_tables, iloc_v0, overlay_bomb
from tests.conftest import encode, pil_bytes, png_header

SIZE = 260  # any model input size; the shipped model's


def mean_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


@pytest.mark.parametrize("ext", [".png", ".webp", ".bmp", ".tiff", ".jpg"])
def test_it_reads_each_format_to_the_same_pixels(cat_rgb, ext):
    params = [__import__("cv2").IMWRITE_WEBP_QUALITY, 101] if ext == ".webp" else None  # lossless
    reference = resize_for_model(cat_rgb, SIZE)
    got = preprocess(encode(cat_rgb, ext, params), SIZE)
    assert got.shape == (SIZE, SIZE, 3) and got.dtype == np.uint8
    tolerance = 3.0 if ext == ".jpg" else 0.5  # re-encoding as JPEG loses a little
    assert mean_abs_difference(got, reference) < tolerance


def test_it_reads_the_first_frame_of_an_animated_gif():
    red = Image.new("RGB", (64, 48), (220, 20, 20))
    blue = Image.new("RGB", (64, 48), (20, 20, 220))
    data = pil_bytes(red, "GIF", save_all=True, append_images=[blue], duration=100, loop=0)
    rgb = decode_image(data)
    assert rgb.shape == (48, 64, 3)
    assert rgb[..., 0].mean() > 180 and rgb[..., 2].mean() < 60  # red, not blue


def test_it_composites_transparent_pixels_on_white():
    rgba = np.zeros((32, 32, 4), np.uint8)  # fully transparent black
    rgba[:16, :, :] = (0, 0, 0, 255)  # top half opaque black
    rgb = decode_image(encode(rgba, ".png"))
    assert rgb[:16].max() == 0
    assert rgb[16:].min() == 255


def test_it_reduces_16_bit_png_to_8_bit(cat_rgb):
    deep = cat_rgb.astype(np.uint16) * 257
    got = decode_image(encode(deep, ".png"))
    assert got.dtype == np.uint8
    assert mean_abs_difference(got, cat_rgb) < 0.5


def test_it_reads_palette_png(cat_rgb):
    data = pil_bytes(Image.fromarray(cat_rgb).convert("P", palette=Image.Palette.ADAPTIVE), "PNG")
    assert mean_abs_difference(decode_image(data), cat_rgb) < 12


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_it_turns_grayscale_into_three_equal_channels(cat_rgb, fmt):
    gray = Image.fromarray(cat_rgb).convert("L")
    rgb = decode_image(pil_bytes(gray, fmt))
    assert rgb.shape[2] == 3
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])


def test_it_reads_cmyk_jpeg(cat_rgb):
    data = pil_bytes(Image.fromarray(cat_rgb).convert("CMYK"), "JPEG", quality=95)
    assert mean_abs_difference(decode_image(data), cat_rgb) < 12


def test_it_applies_exif_orientation():
    wide = np.zeros((40, 80, 3), np.uint8)
    wide[:, :40] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    data = pil_bytes(Image.fromarray(wide), "JPEG", exif=exif.tobytes(), quality=95)
    rgb = decode_image(data)
    assert rgb.shape[:2] == (80, 40)  # displayed upright: portrait
    assert rgb[:40].mean() > 200 and rgb[40:].mean() < 50  # the white half is now on top


def test_big_jpegs_are_decoded_reduced_but_match_a_full_decode():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
    big = __import__("cv2").resize(small, (4000, 3000), interpolation=__import__("cv2").INTER_CUBIC)
    data = encode(big, ".jpg", [__import__("cv2").IMWRITE_JPEG_QUALITY, 95])
    assert mean_abs_difference(preprocess(data, SIZE), resize_for_model(big, SIZE)) < 3.0


@pytest.mark.parametrize("model_size,short_side", [(224, 250), (260, 500), (600, 1000)])
def test_reduced_decoding_never_goes_below_the_model_input(model_size, short_side):
    # 2000x2000: shrinking by 8 gives 250 px, enough for 224 but not for 260
    data = encode(np.full((2000, 2000, 3), 90, np.uint8), ".jpg")
    assert decode_image(data, at_least=model_size).shape[:2] == (short_side, short_side)
    assert preprocess(data, size=model_size).shape == (model_size, model_size, 3)


@pytest.mark.parametrize("content,code", [
    (b"", "empty_file"),
    (b"hello, this is text", "unsupported_format"),
    (b"<html><body>hi</body></html>", "unsupported_format"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "unsupported_format"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "unsupported_format"),
    (bytes(range(256)) * 8, "unsupported_format"),
])
def test_it_rejects_what_is_not_an_image(content, code):
    with pytest.raises(ImageError) as error:
        preprocess(content, SIZE)
    assert error.value.code == code
    assert error.value.message


def test_it_rejects_a_truncated_jpeg(cat_jpeg):
    with pytest.raises(ImageError) as error:
        preprocess(cat_jpeg[:300], SIZE)
    assert error.value.code == "corrupt_image"


def test_it_refuses_a_decompression_bomb_from_its_header():
    with pytest.raises(ImageError) as error:
        preprocess(png_header(60_000, 60_000) + b"\x00" * 100, SIZE)
    assert error.value.code == "too_many_pixels"
    assert "3600 MP" in error.value.message


def test_it_refuses_a_zero_sized_header():
    with pytest.raises(ImageError) as error:
        preprocess(png_header(0, 0), SIZE)
    assert error.value.code == "corrupt_image"


def test_the_pixel_limit_is_a_parameter(cat_rgb):
    data = encode(cat_rgb, ".png")
    with pytest.raises(ImageError):
        preprocess(data, SIZE, max_pixels=100)
    assert preprocess(data, SIZE, max_pixels=10_000_000).shape == (SIZE, SIZE, 3)


@pytest.mark.parametrize("ext,fmt", [(".jpg", "jpeg"), (".png", "png"), (".webp", "webp"), (".bmp", "bmp"),
                                     (".gif", "gif"), (".tiff", "tiff")])
def test_headers_give_format_and_size(ext, fmt):
    data = encode(np.zeros((37, 53, 3), np.uint8), ext)
    assert sniff_format(data) == fmt
    if fmt != "tiff":  # TIFF is bounded by OpenCV's own pixel limit instead
        assert image_dimensions(data, fmt) == (53, 37)


def test_a_one_pixel_image_is_still_classifiable():
    assert preprocess(encode(np.full((1, 1, 3), 128, np.uint8), ".png"), SIZE).shape == (SIZE, SIZE, 3)


def test_a_png_whose_chunk_claims_gigabytes_is_refused_at_once():
    """Found by benchmarks/fuzz.py: libpng took 3 s on this 65-byte file."""
    import time

    data = bytes.fromhex(
        "89504e470d0a1a0a0000000d494844520000003000000024100200000010b7f21ef1001f3a4944415468053dc149ab6c"
        "494200e08838274e9c79c879b8f39b6be5")
    started = time.perf_counter()
    with pytest.raises(ImageError) as error:
        preprocess(data, SIZE)
    assert error.value.code == "corrupt_image"
    assert time.perf_counter() - started < 0.1


def test_a_truncated_png_is_corrupt(cat_rgb):
    data = encode(cat_rgb, ".png")
    with pytest.raises(ImageError) as error:
        preprocess(data[: len(data) // 2], SIZE)
    assert error.value.code == "corrupt_image"


# --- HEIC and AVIF: the same promises as the other formats ---------------------------------

def blocks() -> np.ndarray:
    """A small photo-like picture that no rotation or mirroring leaves unchanged."""
    rng = np.random.default_rng(0)
    return cv2.resize(rng.integers(0, 255, (3, 4, 3), dtype=np.uint8), (80, 48), interpolation=cv2.INTER_NEAREST)


@pytest.mark.parametrize("make", [images.heic, images.avif], ids=["heic", "avif"])
def test_heic_and_avif_read_to_the_same_pixels(cat_rgb, make):
    got = preprocess(make(cat_rgb, quality=95), SIZE)
    assert got.shape == (SIZE, SIZE, 3) and got.dtype == np.uint8
    assert mean_abs_difference(got, resize_for_model(cat_rgb, SIZE)) < 3.0


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("make", [images.heic, images.avif], ids=["heic", "avif"])
def test_heic_and_avif_are_turned_upright_by_their_irot_and_imir(make, orientation):
    source = blocks()
    got = decode_image(make(source, orientation))
    expected = images.displayed(source, orientation)
    assert got.shape == expected.shape
    assert mean_abs_difference(got, expected) < 8  # lossy coding; a wrong turn differs by ~90


def test_a_10_bit_avif_is_scaled_not_darkened():
    source = blocks()
    ok, buffer = cv2.imencode(".avif", cv2.cvtColor(source, cv2.COLOR_RGB2BGR).astype(np.uint16) << 2,
                              [cv2.IMWRITE_AVIF_DEPTH, 10])
    assert ok
    assert mean_abs_difference(decode_image(buffer.tobytes()), source) < 8


@pytest.mark.parametrize("make", [images.heic, images.avif], ids=["heic", "avif"])
def test_transparent_heic_and_avif_are_composited_on_white(make):
    rgba = np.dstack([blocks(), np.zeros((48, 80), np.uint8)])
    assert decode_image(make(rgba)).min() > 240


@pytest.mark.parametrize("make,fmt", [(images.heic, "heic"), (images.avif, "avif")])
def test_heic_and_avif_headers_give_format_and_size(make, fmt):
    data = make(np.zeros((37, 53, 3), np.uint8))
    assert sniff_format(data) == fmt
    width, height = image_dimensions(data, fmt)
    if fmt == "avif":
        assert (width, height) == (53, 37)
    else:  # the largest declared picture: x265 codes 64x64 and crops to 53x37 (clap)
        assert 53 <= width <= 64 and 37 <= height <= 64


@pytest.mark.parametrize("make", [images.heic, images.avif], ids=["heic", "avif"])
def test_a_heic_or_avif_bomb_is_refused_from_its_header_at_once(make):
    import time

    bomb = images.patch_dimensions(make(blocks()), 60_000, 60_000)
    start = time.perf_counter()
    with pytest.raises(ImageError) as error:
        preprocess(bomb, SIZE)
    assert error.value.code == "too_many_pixels" and "3600 MP" in error.value.message
    assert time.perf_counter() - start < 0.1


@pytest.mark.parametrize("make", [images.heic, images.avif], ids=["heic", "avif"])
def test_the_pixel_limit_applies_to_heic_and_avif(make):
    data = make(blocks())
    with pytest.raises(ImageError) as error:
        preprocess(data, SIZE, max_pixels=1000)
    assert error.value.code == "too_many_pixels"


@pytest.mark.parametrize("make", [images.heic, images.avif], ids=["heic", "avif"])
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_a_truncated_heic_or_avif_is_corrupt(cat_rgb, make, keep):
    data = make(cat_rgb)
    with pytest.raises(ImageError) as error:
        preprocess(data[:int(len(data) * keep)], SIZE)
    assert error.value.code == "corrupt_image"


@pytest.mark.parametrize("brand", [b"heic", b"avif"])
def test_a_bare_heif_container_with_no_picture_is_corrupt(brand):
    ftyp = (24).to_bytes(4, "big") + b"ftyp" + brand + b"\x00\x00\x00\x00mif1" + brand
    with pytest.raises(ImageError) as error:
        preprocess(ftyp + b"\x00" * 64, SIZE)
    assert error.value.code == "corrupt_image"


def test_a_heic_grid_claiming_more_than_its_ispe_is_refused_from_its_grid_data():
    """A grid's tiles may all be one tiny tile: the size to allocate is the grid's own."""
    bomb = images.grid_bomb(60_000, 60_000)  # its ispe says 512x512
    assert image_dimensions(bomb, "heic") == (60_000, 60_000)
    with pytest.raises(ImageError) as error:
        preprocess(bomb, SIZE)
    assert error.value.code == "too_many_pixels"


# --- HEIF item tables built to stall the parser -----------------------------------------------

@pytest.fixture
def uint_reads(monkeypatch):
    """How many numbers the iloc reader takes from the file: its work, whatever the machine's speed."""
    from app.inference import isobmff

    calls = []
    original = isobmff._uint
    monkeypatch.setattr(isobmff, "_uint", lambda *args: calls.append(1) or original(*args))
    return calls


def test_an_iloc_of_empty_extents_that_never_advances_is_refused_at_once(uint_reads):
    """25 KB: 4,096 items of 65,535 extents that take no bytes (seconds of looping, before)."""
    bomb = heif_with_tables(iloc_v0(4096, 0xFFFF, 0x00))
    assert len(bomb) < 30_000
    with pytest.raises(ImageError) as error:
        decode_image(bomb)
    assert error.value.code == "corrupt_image"
    assert len(uint_reads) < 20  # the first item says it all


def test_an_iloc_of_many_extents_is_read_without_visiting_each(uint_reads):
    """2 MB of real 8-byte extents: the first extent gives the item's place, the rest is skipped."""
    data = heif_with_tables(iloc_v0(64, 4096, 0x44))
    assert image_dimensions(data, "heic") is not None
    assert len(uint_reads) < 64 * 8  # a handful per item


def test_an_ipma_longer_than_any_photos_is_refused_from_the_shared_budget():
    """4,000 items of 255 properties each: a million entries, where a photo lists a few hundred."""
    import time

    one = b"\x00\x01" + bytes([255]) + b"\x01" * 255
    bomb = heif_with_tables(iloc_v0(1, 1, 0x44), (4000).to_bytes(4, "big") + one * 4000)
    start = time.process_time()
    with pytest.raises(ImageError) as error:
        decode_image(bomb)
    assert error.value.code == "corrupt_image"
    assert time.process_time() - start < 0.5


def test_the_item_list_counts_in_the_shared_budget_too():
    """4,000 items listed in iinf and an ipma of 12,800 entries: each under the budget, not both."""
    one = b"\x00\x01" + bytes([255]) + b"\x01" * 255
    ipma = (50).to_bytes(4, "big") + one * 50
    assert image_dimensions(heif_with_tables(iloc_v0(1, 1, 0x44), ipma), "heic") is not None
    assert image_dimensions(heif_with_tables(iloc_v0(1, 1, 0x44), tiles=4000), "heic") is not None
    with pytest.raises(ImageError) as error:
        image_dimensions(heif_with_tables(iloc_v0(1, 1, 0x44), ipma, tiles=4000), "heic")
    assert error.value.code == "corrupt_image"


def test_a_real_heic_still_reads_under_the_budget(cat_rgb):
    assert preprocess(images.heic(cat_rgb), SIZE).shape == (SIZE, SIZE, 3)


def test_a_heic_overlay_whose_canvas_dwarfs_its_ispe_is_refused_before_libheif(monkeypatch):
    """libheif allocates an overlay's whole canvas, whatever its layers' size."""
    from app.inference import preprocess as module

    bomb = overlay_bomb(8000, 8000)  # its ispe says 64x64
    assert image_dimensions(bomb, "heic") == (8000, 8000)
    monkeypatch.setattr(module, "_pi_heif", None)  # any decoding attempt would fail otherwise
    with pytest.raises(ImageError) as error:
        preprocess(bomb, SIZE)
    assert error.value.code == "too_many_pixels" and "64 MP" in error.value.message


def tiff_header(width: int, height: int, order: str, kind: int) -> bytes:
    """A TIFF's header and first IFD: an unrelated tag first, then width and length as SHORT (3) or LONG (4)."""
    def entry(tag: int, value: int) -> bytes:
        size = 2 if kind == 3 else 4
        return (tag.to_bytes(2, order) + kind.to_bytes(2, order) + (1).to_bytes(4, order)
                + value.to_bytes(size, order) + b"\x00" * (4 - size))
    start = b"II*\x00" if order == "little" else b"MM\x00*"
    ifd = (3).to_bytes(2, order) + entry(254, 0) + entry(256, width) + entry(257, height) + b"\x00" * 4
    return start + (8).to_bytes(4, order) + ifd


@pytest.mark.parametrize("order", ["little", "big"])
@pytest.mark.parametrize("kind", [3, 4], ids=["short", "long"])
def test_tiff_dimensions_come_from_the_first_ifd(order, kind):
    data = tiff_header(640, 480, order, kind)
    assert sniff_format(data) == "tiff" and image_dimensions(data, "tiff") == (640, 480)


def test_the_pixel_limit_applies_to_tiff_before_decoding(monkeypatch):
    data = encode(np.zeros((100, 100, 3), np.uint8), ".tiff")  # 10,000 pixels
    monkeypatch.setattr(cv2, "imdecode", None)  # refused from the header: never decoded
    with pytest.raises(ImageError) as error:
        decode_image(data, max_pixels=1000)
    assert error.value.code == "too_many_pixels"


def test_the_pixel_limit_holds_after_decoding_when_the_header_gives_no_size(monkeypatch):
    from app.inference import preprocess as module

    monkeypatch.setattr(module, "_tiff_dimensions", lambda data: None)  # as for an IFD we cannot read
    with pytest.raises(ImageError) as error:
        decode_image(encode(np.zeros((100, 100, 3), np.uint8), ".tiff"), max_pixels=1000)
    assert error.value.code == "too_many_pixels"
