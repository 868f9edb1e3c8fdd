"""Property-based fuzzing of decoding and preprocessing (hypothesis).

    make fuzz    # or: python -m benchmarks.fuzz --seconds 300

Feeds random bytes and damaged real images (bit flips, truncation, spliced
headers, in every supported format) to `preprocess`. The property: it returns
a (size, size, 3) uint8 array or raises ImageError -- never anything else,
never hangs. Prints how many inputs it tried, the outcomes by error code, and
any input that broke the property (saved under var/fuzz/).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import time
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.inference.preprocess import ImageError, preprocess  # sets OpenCV's log level

import cv2  # noqa: E402  (after preprocess, which configures it)

from tests import images  # noqa: E402  (HEIC and AVIF encoders, test-only)

ROOT = Path(__file__).resolve().parent.parent
SIZE = 260  # the shipped model's input size (any size exercises the same decoding)


def seed_images() -> list[bytes]:
    """Small valid files of every supported format, made here."""
    rng = np.random.default_rng(0)
    image = cv2.resize(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), (48, 36), interpolation=cv2.INTER_CUBIC)
    rgba = np.dstack([image, np.full(image.shape[:2], 128, np.uint8)])
    seeds = [cv2.imencode(ext, image)[1].tobytes() for ext in (".jpg", ".png", ".webp", ".bmp", ".gif", ".tiff")]
    seeds.append(cv2.imencode(".png", rgba)[1].tobytes())
    seeds.append(cv2.imencode(".png", image.astype(np.uint16) * 257)[1].tobytes())
    seeds += [images.heic(image), images.heic(image, orientation=6), images.avif(image),
              images.avif(rgba, orientation=5), images.grid_bomb(64, 48)]
    return seeds


SEEDS = seed_images()


@st.composite
def damaged_images(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):  # flip bytes, header included
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):  # a valid header glued to garbage
        data = data[:64] + bytearray(draw(st.binary(max_size=256)))
    return bytes(data)


inputs = st.one_of(st.binary(max_size=512), damaged_images())


def check(data: bytes) -> str:
    """The property; returns the outcome ("ok" or an error code)."""
    try:
        pixels = preprocess(data, SIZE)
    except ImageError as error:
        return error.code
    assert pixels.shape == (SIZE, SIZE, 3) and pixels.dtype == np.uint8
    return "ok"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    args = parser.parse_args(argv)
    outcomes: collections.Counter[str] = collections.Counter()
    failures: list[bytes] = []
    deadline = time.monotonic() + args.seconds

    class TimeUp(Exception):
        pass

    @settings(max_examples=10**9, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(inputs)
    def run(data: bytes) -> None:
        if time.monotonic() > deadline:
            raise TimeUp
        started = time.monotonic()
        try:
            outcomes[check(data)] += 1
            if time.monotonic() - started > 1.0:  # slow inputs are a denial-of-service risk
                outcomes["SLOW (>1 s)"] += 1
                failures.append(data)
        except Exception as error:  # the property broke: keep the input, go on fuzzing
            outcomes[f"BROKEN {type(error).__name__}"] += 1
            failures.append(data)

    while time.monotonic() < deadline:
        try:
            run()
        except TimeUp:
            break
        except Exception:  # hypothesis re-raises after shrinking; the input is already saved
            pass
    folder = ROOT / "var" / "fuzz"
    for data in failures:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
    print(f"tried {sum(outcomes.values())} inputs in {args.seconds:.0f} s")
    for outcome, count in outcomes.most_common():
        print(f"  {outcome:<28} {count}")
    print(f"{len(failures)} inputs broke the property" + (f" (saved in {folder})" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
