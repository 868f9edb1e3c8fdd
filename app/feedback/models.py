"""One row per "Wrong? It's a ..." sent from the page or the API.

The photo is there only when its sender agreed to keep it, and then only as the
re-encoded JPEG of app/feedback/service.py (at most 512 px, no metadata).
"""

from __future__ import annotations

from django.db import models

from app.inference.decision import CLASS_NAMES

LABELS = CLASS_NAMES  # what a person may say a photo shows: the model's classes


class Feedback(models.Model):
    created = models.DateTimeField(auto_now_add=True, db_index=True)  # purge_feedback goes by it
    predicted = models.CharField(max_length=8, choices=[(label, label) for label in LABELS])
    correct = models.CharField(max_length=8, choices=[(label, label) for label in LABELS])
    model_version = models.CharField(max_length=64)
    request_id = models.CharField(max_length=128, blank=True)  # of the prediction, to find it in the log
    photo = models.BinaryField(null=True, blank=True, editable=False)  # JPEG; None without consent

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "feedback"

    def __str__(self) -> str:
        return f"#{self.pk}: {self.predicted} -> {self.correct} (model {self.model_version})"
