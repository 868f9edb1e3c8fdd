"""The one definition of how a photo becomes model input.

Training, evaluation, conversion checks and serving all call `preprocess`,
so the pixels the model learnt from are the pixels it is served. Pure
OpenCV + numpy: no Django, no TensorFlow.

Contract: encoded image bytes -> RGB uint8 array of size x size (the size the
model's contract states; there is no default, so no model gets another's size),
the whole photo squashed to a square (the training photos were squashed the
same way, so keeping the aspect ratio here would show the model shapes it
never saw). Normalisation to the network's range happens inside the model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from app.inference import isobmff

# OpenCV refuses to allocate images above this many pixels; set before import
# so that even a format whose header we do not parse cannot bomb the process.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(100_000_000))
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # a bad upload is our 4xx, not a log warning
import cv2  # noqa: E402
# HEIC's decoder: libheif with libde265 only (LGPL, decode-only, no GPL x265 encoder), from the
# pi-heif wheel. Its C module is used directly: pi-heif's Python layer imports Pillow, which the
# image does not ship (app/trim_environment.py). AVIF needs nothing more: OpenCV reads it.
import _pi_heif  # noqa: E402

DEFAULT_MAX_PIXELS = 50_000_000  # 50 MP: larger than any phone photo

# The JPEG decoder can shrink by 2, 4 or 8 while decoding (much faster for
# big photos: it skips most of the inverse DCT); we use the largest factor that
# still leaves at least the model's resolution, and INTER_AREA does the rest.
_JPEG_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                 (2, cv2.IMREAD_REDUCED_COLOR_2))

_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
SUPPORTED_FORMATS = ("jpeg", "png", "webp", "bmp", "gif", "tiff", "heic", "avif")
FORMAT_NAMES = "JPEG, PNG, WebP, BMP, GIF, TIFF, HEIC or AVIF"  # for people: errors, the page, the API docs
_HEIC_MODES = {"RGB": 3, "RGBA": 4, "L": 1}  # what libheif gives at 8 bits per channel


@dataclass
class ImageError(ValueError):
    """An upload that cannot become model input; `code` is stable for API clients."""

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


def sniff_format(data: bytes) -> str | None:
    """The image format from the file's first bytes (never from its name)."""
    heif = isobmff.brand(data)
    if heif is not None:
        return heif
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None


def unsupported_format() -> ImageError:
    return ImageError("unsupported_format", f"This is not an image we can read. Send a {FORMAT_NAMES}.")


def image_dimensions(data: bytes, fmt: str) -> tuple[int, int] | None:
    """(width, height) read from the header without decoding, or None if unknown."""
    try:
        if fmt == "png" and data[12:16] == b"IHDR":
            return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        if fmt == "gif":
            return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
        if fmt == "bmp":
            return (abs(int.from_bytes(data[18:22], "little", signed=True)),
                    abs(int.from_bytes(data[22:26], "little", signed=True)))
        if fmt == "webp":
            return _webp_dimensions(data)
        if fmt == "jpeg":
            return _jpeg_dimensions(data)
        if fmt == "tiff":
            return _tiff_dimensions(data)
        if fmt in ("heic", "avif"):
            header = _heif_header(data, fmt)
            return None if header is None else (header.width, header.height)
    except IndexError:
        return None
    return None


def _heif_header(data: bytes, fmt: str) -> isobmff.HeifHeader | None:
    try:
        return isobmff.read_header(data)
    except isobmff.Malformed as error:  # built to stall a parser: no decoder should see it either
        raise ImageError("corrupt_image", f"The {fmt.upper()} file is damaged: {error}.") from None


def _webp_dimensions(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        return (int.from_bytes(data[26:28], "little") & 0x3FFF,
                int.from_bytes(data[28:30], "little") & 0x3FFF)
    return None


_TIFF_WIDTH, _TIFF_LENGTH = 256, 257  # tags of the first IFD
_TIFF_SHORT, _TIFF_LONG = 3, 4  # either may hold them


def _tiff_dimensions(data: bytes) -> tuple[int, int] | None:
    """ImageWidth and ImageLength from the first IFD (the first page, the one OpenCV decodes)."""
    order = "little" if data[:2] == b"II" else "big"
    ifd = int.from_bytes(data[4:8], order)
    count = int.from_bytes(data[ifd:ifd + 2], order)
    found = {}
    for entry in range(ifd + 2, min(ifd + 2 + 12 * count, len(data) - 11), 12):
        tag, kind = int.from_bytes(data[entry:entry + 2], order), int.from_bytes(data[entry + 2:entry + 4], order)
        if tag in (_TIFF_WIDTH, _TIFF_LENGTH) and kind in (_TIFF_SHORT, _TIFF_LONG):
            found[tag] = int.from_bytes(data[entry + 8:entry + (10 if kind == _TIFF_SHORT else 12)], order)
    if len(found) < 2:
        return None
    return found[_TIFF_WIDTH], found[_TIFF_LENGTH]


def _jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    """Walk the JPEG segments up to the first start-of-frame marker."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


def png_is_complete(data: bytes) -> bool:
    """Every chunk fits in the file, up to IEND.

    Checked before decoding because libpng spends seconds on a 65-byte file
    whose IDAT claims gigabytes (found by benchmarks/fuzz.py): a cheap way to
    stall a worker.
    """
    position = 8
    while position + 12 <= len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        position += 12 + length
        if position > len(data):
            return False
        if kind == b"IEND":
            return True
    return False


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, at_least: int | None = None) -> np.ndarray:
    """Encoded bytes -> RGB uint8 (H, W, 3). Raises ImageError for anything else.

    With `at_least` (the model's input size), a big JPEG may come back smaller than
    it is, but never below `at_least` pixels on its short side; without, at full size.
    """
    if not data:
        raise ImageError("empty_file", "The file is empty.")
    fmt = sniff_format(data)
    if fmt is None:
        raise unsupported_format()
    size = image_dimensions(data, fmt)
    if size is not None:
        check_pixels(size, fmt, max_pixels)
    if fmt == "png" and not png_is_complete(data):
        raise _corrupt("png")
    if fmt == "heic":
        return _decode_heic(data, max_pixels)
    if fmt == "avif":
        return _decode_avif(data)
    buffer = np.frombuffer(data, dtype=np.uint8)
    try:
        image = _decode_jpeg(buffer, size, at_least) if fmt == "jpeg" else _decode_other(buffer)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        raise _corrupt(fmt)
    if size is None:  # a header we could not read: OpenCV's own limit held, ours is applied now
        check_pixels((image.shape[1], image.shape[0]), fmt, max_pixels)
    return image


def check_pixels(size: tuple[int, int], fmt: str, max_pixels: int) -> None:
    """The one pixel limit, applied to dimensions known before decoding."""
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageError("corrupt_image", f"The {fmt.upper()} header claims a {width}x{height} image.")
    if width * height > max_pixels:
        raise ImageError("too_many_pixels",
                         f"The image is {width}x{height} ({width * height / 1e6:.0f} MP); "
                         f"the limit is {max_pixels / 1e6:.0f} MP.")


def _corrupt(fmt: str) -> ImageError:
    return ImageError("corrupt_image", f"The {fmt.upper()} file is damaged or truncated and cannot be decoded.")


def _decode_heic(data: bytes, max_pixels: int) -> np.ndarray:
    """libheif applies the file's irot/imir itself; the EXIF orientation a phone also writes
    repeats them and is ignored, as the HEIF standard says (applying both would turn twice)."""
    try:
        # one decoding thread: the app's parallelism is its worker processes
        images = [i for i in _pi_heif.load_file(data, 1, True, False, True, False, "", False) if i is not None]
        picture = next((i for i in images if i.primary), images[0] if images else None)
        if picture is None:
            raise _corrupt("heic")
        check_pixels(picture.size_mode[0], "heic", max_pixels)  # libheif's own reading, still before decoding
        pixels = picture.data
        (width, height), mode = picture.size_mode
    except ImageError:
        raise
    except Exception:  # libheif's errors come as many types (the fuzzer met SyntaxError too)
        raise _corrupt("heic") from None
    channels = _HEIC_MODES.get(mode)
    if channels is None or len(pixels) != width * height * channels:
        raise _corrupt("heic")
    image = np.frombuffer(pixels, np.uint8).reshape(height, width, channels)
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    return _composite_on_white(image) if channels == 4 else image.copy()


def _decode_avif(data: bytes) -> np.ndarray:
    """OpenCV (libavif with libaom) hands over AVIF pixels as stored, at their own bit depth;
    the file's irot/imir say how to show them, applied in the file's order."""
    header = _heif_header(data, "avif") or isobmff.HeifHeader(0, 0)
    try:
        image = _decode_other(np.frombuffer(data, dtype=np.uint8), header.bit_depth)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        raise _corrupt("avif")
    for transform in header.transforms:
        if transform.kind == "rotate":
            for _ in range(transform.value):
                image = cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
        else:
            image = cv2.flip(image, 0 if transform.value == 0 else 1)  # OpenCV: 0 flips top-bottom
    return np.ascontiguousarray(image)


def _decode_jpeg(buffer: np.ndarray, size: tuple[int, int] | None, at_least: int | None) -> np.ndarray | None:
    # IMREAD_COLOR applies the EXIF orientation and converts CMYK and grayscale.
    flag = cv2.IMREAD_COLOR
    if size is not None and at_least is not None:
        for factor, reduced_flag in _JPEG_REDUCED:
            if min(size) // factor >= at_least:
                flag = reduced_flag
                break
    bgr = cv2.imdecode(buffer, flag)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _decode_other(buffer: np.ndarray, bit_depth: int = 16) -> np.ndarray | None:
    # IMREAD_UNCHANGED keeps alpha, which must be composited, not dropped
    # (a transparent PNG's hidden pixels are often black or garbage).
    image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    if image is None:
        return None
    image = _to_uint8(image, bit_depth)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    if channels == 2:  # gray + alpha
        gray, alpha = image[:, :, 0], image[:, :, 1]
        image = np.dstack([gray, gray, gray, alpha])
        channels = 4
    if channels == 4:
        image = _composite_on_white(image)
    return cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2RGB)


def _to_uint8(image: np.ndarray, bit_depth: int = 16) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return np.clip(image >> max(bit_depth - 8, 0), 0, 255).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        return np.clip(np.nan_to_num(image) * 255.0, 0, 255).astype(np.uint8)
    return np.clip(image, 0, 255).astype(np.uint8)


def _composite_on_white(bgra: np.ndarray) -> np.ndarray:
    alpha = bgra[:, :, 3:4].astype(np.float32) / 255.0
    bgr = bgra[:, :, :3].astype(np.float32)
    return (bgr * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


def resize_for_model(rgb: np.ndarray, size: int) -> np.ndarray:
    """Squash to size x size: area averaging when shrinking, bilinear when enlarging."""
    height, width = rgb.shape[:2]
    shrinking = height * width >= size * size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(rgb, (size, size), interpolation=interpolation))


def preprocess(data: bytes, size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Encoded image bytes -> the model's input: RGB uint8 (size, size, 3)."""
    return resize_for_model(decode_image(data, max_pixels=max_pixels, at_least=size), size)
