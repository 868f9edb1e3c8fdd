"""Feedback in, rows out: what the page and the API both call (no HTTP here).

Without consent the photo is never decoded: nothing of it reaches the database.
With consent it is decoded by the app's own preprocessing (orientation applied),
shrunk to at most KEPT_LONG_SIDE on its long side and re-encoded as JPEG by
OpenCV, which writes no EXIF: GPS positions, camera and dates are left behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import cv2
import numpy as np
from django.utils import timezone

from app import monitoring
from app.feedback.models import LABELS, Feedback
from app.json_dataclasses import required
from app.inference.preprocess import ImageError, decode_image

KEPT_LONG_SIDE = 512
JPEG_QUALITY = 90
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # as the request log accepts them
_MODEL_VERSION = re.compile(r"[A-Za-z0-9._:+-]{1,64}")


class FeedbackError(ValueError):
    """Feedback that cannot be stored, with the HTTP status and code to answer it with."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Report:
    """What a person said about one answer."""

    predicted: str
    correct: str
    model_version: str
    request_id: str = ""
    consent: bool = False
    image: bytes | None = None  # read only with consent


@dataclass(frozen=True)
class Stored:
    """The answer to POST /api/v1/feedback (documented from these fields)."""

    id: int = required("The feedback's id: what `manage.py purge_feedback --id` deletes.")
    photo_kept: bool = required("Whether the photo was kept (only with consent=true).")


def check(report: Report) -> None:
    for field in ("predicted", "correct"):
        if getattr(report, field) not in LABELS:
            raise FeedbackError(400, f"invalid_{field}", f"'{field}' must be one of {', '.join(LABELS)}.")
    if not _MODEL_VERSION.fullmatch(report.model_version):
        raise FeedbackError(400, "invalid_model_version",
                            "'model_version' must be the version the answer came from (1-64 of A-Z a-z 0-9 . _ : + -).")
    if report.request_id and not _REQUEST_ID.fullmatch(report.request_id):
        raise FeedbackError(400, "invalid_request_id", "'request_id' must be 1-128 of A-Z a-z 0-9 . _ : -.")
    if report.consent and not report.image:
        raise FeedbackError(400, "missing_image", "To keep the photo, send it in a form field named 'image'.")


def kept_photo(data: bytes, max_pixels: int) -> bytes:
    """The photo as kept: upright, at most KEPT_LONG_SIDE px on its long side, JPEG without metadata."""
    try:
        rgb = decode_image(data, max_pixels=max_pixels, at_least=KEPT_LONG_SIDE)
    except ImageError as error:
        status = {"too_many_pixels": 413, "unsupported_format": 415}.get(error.code, 400)
        raise FeedbackError(status, error.code, str(error)) from None
    height, width = rgb.shape[:2]
    scale = KEPT_LONG_SIDE / max(height, width)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise FeedbackError(400, "unreadable_image", "The photo could not be re-encoded.")
    return jpeg.tobytes()


def record(report: Report, max_pixels: int, retention_days: int) -> Stored:
    """Check, store and count one piece of feedback, and forget what has outlived the retention."""
    check(report)
    photo = kept_photo(report.image, max_pixels) if report.consent else None
    row = Feedback.objects.create(predicted=report.predicted, correct=report.correct,
                                  model_version=report.model_version, request_id=report.request_id,
                                  photo=photo)
    monitoring.record_feedback(report.predicted, report.correct)
    purge_older_than(retention_days)
    return Stored(row.pk, photo is not None)


def purge_older_than(days: int) -> int:
    """Delete feedback (photos included) older than `days`; how many went. Run at every start
    and after every new feedback, so the page's "kept for N days" holds without a cron job
    on any site that is used (purge_feedback does it on demand)."""
    deleted, _ = Feedback.objects.filter(created__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
