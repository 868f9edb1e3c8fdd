"""Shared fixtures: Django configured as in production (collected static files,
the shipped ONNX model), real photos from ../shared, and image makers."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from training.config import DATASETS

ROOT = Path(__file__).resolve().parent.parent
PETS = DATASETS / "dogs-vs-cats" / "train"
OTHERS = DATASETS / "not-pets"
EVERYDAY = DATASETS / "everyday"
SHIPPED_MODEL = ROOT / "app" / "model" / "catsdogs.onnx"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")
os.environ["ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
os.environ["STATIC_ROOT"] = tempfile.mkdtemp(prefix="catsdogs-static-")
os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="catsdogs-data-")  # the feedback database, never the repo's var/
os.environ.pop("DATABASE_URL", None)
os.environ["RATE_LIMIT_PER_MINUTE"] = "0"  # the limiter has its own tests
os.environ.setdefault("MODEL_PATH", str(SHIPPED_MODEL))

import django  # noqa: E402

django.setup()


@pytest.fixture(scope="session", autouse=True)
def _collected_static():
    """Static files collected exactly as `make serve` and the Dockerfile do."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture
def client():
    from django.test import Client

    return Client()


# Photos whose label every model we ship must get right (clear, typical shots).
CAT_PHOTOS = ["cat.1.jpg", "cat.2.jpg", "cat.3.jpg"]
DOG_PHOTOS = ["dog.1.jpg", "dog.2.jpg", "dog.3.jpg"]
OTHER_PHOTOS = ["car.1.jpg", "church.1.jpg", "flower.1.jpg"]
# People and clothes from everyday/, in the test split (never trained on): what users upload first.
EVERYDAY_PHOTOS = ["person.120.jpg", "person.231.jpg", "clothing.102.jpg", "clothing.204.jpg"]


def photo(name: str) -> bytes:
    folder = PETS if name.split(".")[0] in ("cat", "dog") else EVERYDAY if name in EVERYDAY_PHOTOS else OTHERS
    return (folder / name).read_bytes()


@pytest.fixture
def cat_jpeg() -> bytes:
    return photo(CAT_PHOTOS[0])


@pytest.fixture
def cat_rgb(cat_jpeg) -> np.ndarray:
    import cv2

    return cv2.cvtColor(cv2.imdecode(np.frombuffer(cat_jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def encode(rgb: np.ndarray, ext: str, params: list[int] | None = None) -> bytes:
    """RGB (or RGBA / gray) array -> file bytes with OpenCV."""
    import cv2

    if rgb.ndim == 3 and rgb.shape[2] == 3:
        image = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    elif rgb.ndim == 3 and rgb.shape[2] == 4:
        image = cv2.cvtColor(rgb, cv2.COLOR_RGBA2BGRA)
    else:
        image = rgb
    ok, buffer = cv2.imencode(ext, image, params or [])
    assert ok, ext
    return buffer.tobytes()


def upload(name: str, content: bytes) -> io.BytesIO:
    """A file for Django's test client, with the name it is sent under."""
    f = io.BytesIO(content)
    f.name = name
    return f


def pil_bytes(image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """The signature and header chunk of a PNG claiming these dimensions, and nothing else."""
    import struct
    import zlib

    chunk = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))


# --- the tiny real training run shared by tests/training and tests/convert -------------
# A few dozen photos, one epoch, 64 px input; made once per session, whatever the test order.

def tiny_run(tmp_path, model: str, *options: str) -> dict:
    from training.train import main

    return main([
        f"--model={model}", "--limit_per_class=16", "--input_size=64", "--head_epochs=2",
        "--head_folds=0", "--head_augmented_copies=0", "--finetune_epochs=1", "--scratch_epochs=1",
        "--steps_per_epoch=2", "--batch_size=8",
        f"--pets={PETS}", f"--others={OTHERS}",
        f"--run_dir={tmp_path / 'run'}", f"--cache_dir={tmp_path / 'cache'}", *options,
    ])


@pytest.fixture(scope="session")
def lite0_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("lite0")
    return tmp_path, tiny_run(tmp_path, "efficientnet-lite0")


@pytest.fixture(scope="session")
def lite0_onnx(lite0_run):
    """The tiny run converted once, for every test that needs its ONNX file (any order)."""
    from convert.to_onnx import main as convert_main

    tmp_path, _ = lite0_run
    onnx_path = tmp_path / "model.onnx"
    assert convert_main([f"--run_dir={tmp_path / 'run'}", f"--output={onnx_path}"]) == 0
    return onnx_path
