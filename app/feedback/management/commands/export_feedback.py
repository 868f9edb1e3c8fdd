"""python manage.py export_feedback DIR: the kept photos as training data.

DIR/<correct label>/<id>.jpg for every kept photo, and DIR/feedback.csv with one
row per feedback, photo or not. `make train` reads DIR as it reads PetImages:
--pets=DIR --others=DIR/other.
"""

from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import BaseCommand

from app.feedback.models import LABELS, Feedback

COLUMNS = ("id", "created", "predicted", "correct", "model_version", "request_id", "photo")


class Command(BaseCommand):
    help = "Write DIR/<correct label>/<id>.jpg for every kept photo and DIR/feedback.csv for all feedback."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)

    def handle(self, *args, folder: Path, **options):
        for label in LABELS:
            (folder / label).mkdir(parents=True, exist_ok=True)
        photos = 0
        with open(folder / "feedback.csv", "w", newline="") as table:
            writer = csv.writer(table)
            writer.writerow(COLUMNS)
            # one row at a time: photos are not all held in memory at once
            for row in Feedback.objects.order_by("id").iterator(chunk_size=200):
                name = ""
                if row.photo is not None:
                    name = f"{row.correct}/{row.pk}.jpg"
                    (folder / name).write_bytes(bytes(row.photo))
                    photos += 1
                writer.writerow([row.pk, row.created.isoformat(), row.predicted, row.correct, row.model_version,
                                 row.request_id, name])
        self.stdout.write(f"{photos} photos and feedback.csv written to {folder}")
