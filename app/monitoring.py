"""Prometheus metrics: what the app is doing, for the dashboards a host already has.

Under gunicorn every worker writes its figures to files in PROMETHEUS_MULTIPROC_DIR
(gunicorn.conf.py creates it, and forgets a worker's live gauges when it exits), and a
scrape adds them up; without gunicorn (tests, manage.py) the process's own registry
is read. Names: catsdogs_requests_total{endpoint,status},
catsdogs_predictions_total{label}, catsdogs_file_errors_total{code},
catsdogs_photo_seconds{stage} (per photo: preprocess, inference, total),
catsdogs_model_info{name,version,variant} (always 1) and
catsdogs_feedback_total{predicted,correct} (the live confusion matrix of flagged answers).
"""

from __future__ import annotations

import os

from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest, multiprocess)

from app.inference.answer import Answer

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("catsdogs_requests", "HTTP requests answered, by endpoint and status", ["endpoint", "status"])
PREDICTIONS = Counter("catsdogs_predictions", "Photos classified, by label", ["label"])
FILE_ERRORS = Counter("catsdogs_file_errors", "Uploaded files that could not be classified, by error code", ["code"])
PHOTO_SECONDS = Histogram("catsdogs_photo_seconds", "Seconds per photo, by stage", ["stage"],
                          buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28))
FEEDBACK = Counter("catsdogs_feedback", "Feedback received, by the label given and the one said to be right",
                   ["predicted", "correct"])
MODEL_INFO = Gauge("catsdogs_model_info", "The model each worker serves (always 1)", ["name", "version", "variant"],
                   multiprocess_mode="liveall")


def record_request(endpoint: str, status: int) -> None:
    REQUESTS.labels(endpoint=endpoint, status=str(status)).inc()


def record_answer(answer: Answer) -> None:
    """Count one answer of app.inference.service.classify: labels, file errors, time per photo."""
    classified = 0
    for entry in answer.predictions:
        if entry.label is not None:
            PREDICTIONS.labels(label=entry.label).inc()
            classified += 1
        elif entry.error is not None:
            FILE_ERRORS.labels(code=entry.error.code).inc()
    if classified:
        timing = answer.timing_ms
        for stage in ("preprocess", "inference", "total"):
            share = getattr(timing, stage) / 1000 / classified  # each photo's share of the batch
            for _ in range(classified):
                PHOTO_SECONDS.labels(stage=stage).observe(share)


def record_feedback(predicted: str, correct: str) -> None:
    FEEDBACK.labels(predicted=predicted, correct=correct).inc()


def record_model(name: str, version: str, variant: str) -> None:
    MODEL_INFO.labels(name=name, version=version, variant=variant).set(1)


def registry() -> CollectorRegistry:
    """All workers' figures under gunicorn, else this process's."""
    if not os.environ.get(MULTIPROCESS_DIR_ENV):
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)
    return collected


def render() -> tuple[bytes, str]:
    """The Prometheus text exposition and its content type."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST
