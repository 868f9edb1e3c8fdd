"""Feedback in the app itself (Django's test client, the real SQLite database of the session):
the API, what is kept with and without consent, the page's form with and without JavaScript,
the admin behind its login, export, retention and the metric."""

from __future__ import annotations

import csv
import re
import uuid
from datetime import timedelta

import cv2
import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone

from app.feedback.models import Feedback
from tests.app.test_metrics import value
from tests.conftest import CAT_PHOTOS, pil_bytes, photo, png_header, upload

pytestmark = pytest.mark.usefixtures("migrated")


def version() -> str:
    """A model version of this test alone, so its rows are told apart from the others'."""
    return f"test-{uuid.uuid4().hex[:12]}"


def send(client: Client, consent: bool = False, image: bytes | None = None, **fields) -> tuple[int, dict]:
    data = {"predicted": "dog", "correct": "cat", "model_version": version(), **fields,
            "consent": "true" if consent else "false"}
    if image is not None:
        data["image"] = upload("photo.jpg", image)
    response = client.post("/api/v1/feedback", data)
    return response.status_code, response.json()


def gps_photo(width: int = 1600, height: int = 1200, orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: GPS position, camera make and model, an orientation tag."""
    from PIL import Image

    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:, : width // 4] = (255, 0, 0)  # a red band on the left as stored: on top once turned upright
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Phonemaker", "Phone 12", orientation
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 22.0, 12.5), 3: "E", 4: (4.0, 53.0, 40.0)})
    return pil_bytes(Image.fromarray(rgb), "JPEG", exif=exif.tobytes(), quality=90)


# --- the API --------------------------------------------------------------------------

def test_feedback_with_consent_keeps_a_small_upright_jpeg_without_any_metadata(client):
    status, answer = send(client, consent=True, image=gps_photo())
    assert status == 201 and answer["photo_kept"] is True
    row = Feedback.objects.get(pk=answer["id"])
    kept = bytes(row.photo)
    assert kept[:2] == b"\xff\xd8" and b"Exif" not in kept and b"Phonemaker" not in kept
    assert not re.search(rb"\xff\xe1", kept[:64])  # no APP1 segment (EXIF or XMP) at all
    picture = cv2.imdecode(np.frombuffer(kept, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape[:2] == (512, 384)  # 1600x1200 turned upright by its orientation tag, then shrunk
    assert picture[:64, :, 2].mean() > 200 and picture[-64:, :, 2].mean() < 50  # the red band is on top


def test_feedback_without_consent_keeps_no_photo_even_when_one_is_sent(client):
    status, answer = send(client, consent=False, image=gps_photo(), request_id="prediction-42")
    assert status == 201 and answer == {"id": answer["id"], "photo_kept": False}
    row = Feedback.objects.get(pk=answer["id"])
    assert row.photo is None
    assert (row.predicted, row.correct, row.request_id) == ("dog", "cat", "prediction-42")
    assert timezone.now() - row.created < timedelta(minutes=1)


def test_a_small_photo_is_kept_at_its_own_size(client):
    status, answer = send(client, consent=True, image=photo(CAT_PHOTOS[0]))
    assert status == 201
    kept = cv2.imdecode(np.frombuffer(bytes(Feedback.objects.get(pk=answer["id"]).photo), np.uint8), cv2.IMREAD_COLOR)
    original = cv2.imdecode(np.frombuffer(photo(CAT_PHOTOS[0]), np.uint8), cv2.IMREAD_COLOR)
    assert max(original.shape[:2]) <= 512 and kept.shape == original.shape  # never enlarged


@pytest.mark.parametrize("fields,status,code", [
    ({"correct": "horse"}, 400, "invalid_correct"),
    ({"predicted": ""}, 400, "invalid_predicted"),
    ({"model_version": ""}, 400, "invalid_model_version"),
    ({"model_version": "x" * 65}, 400, "invalid_model_version"),
    ({"request_id": "not an id!"}, 400, "invalid_request_id"),
])
def test_bad_fields_get_a_json_error_and_store_nothing(client, fields, status, code):
    before = Feedback.objects.count()
    got, answer = send(client, **fields)
    assert (got, answer["error"]["code"]) == (status, code) and answer["error"]["message"]
    assert Feedback.objects.count() == before


@pytest.mark.parametrize("image,status,code", [
    (None, 400, "missing_image"),
    (b"just some text", 415, "unsupported_format"),
    (png_header(20000, 20000), 413, "too_many_pixels"),
])
def test_consent_needs_a_readable_photo(client, image, status, code):
    before = Feedback.objects.count()
    got, answer = send(client, consent=True, image=image)
    assert (got, answer["error"]["code"]) == (status, code)
    assert Feedback.objects.count() == before


def test_a_body_over_the_upload_limit_is_refused_before_it_is_read(client):
    with override_settings(MAX_UPLOAD_BYTES=4096):
        status, answer = send(client, consent=True, image=gps_photo())
    assert status == 413 and answer["error"]["code"] == "request_too_large"


def test_one_photo_per_feedback_and_multipart_only(client):
    data = {"predicted": "dog", "correct": "cat", "model_version": version(), "consent": "true",
            "image": [upload("a.jpg", photo(CAT_PHOTOS[0])), upload("b.jpg", photo(CAT_PHOTOS[1]))]}
    response = client.post("/api/v1/feedback", data)
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_many_files"
    response = client.post("/api/v1/feedback", "{}", content_type="application/json")
    assert response.status_code == 415 and response.json()["error"]["code"] == "unsupported_media_type"
    response = client.get("/api/v1/feedback")
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_the_api_needs_no_csrf_token():
    strict = Client(enforce_csrf_checks=True)
    status, _ = send(strict)
    assert status == 201


def test_feedback_is_rate_limited_like_predictions():
    with override_settings(RATE_LIMIT_PER_MINUTE=2):
        limited = Client()
        assert [send(limited)[0] for _ in range(3)] == [201, 201, 429]


def test_feedback_is_counted_in_the_metrics(client):
    sample = 'catsdogs_feedback_total{correct="other",predicted="cat"}'
    before = value(client.get("/metrics").content.decode(), sample)
    for _ in range(2):
        assert send(client, predicted="cat", correct="other")[0] == 201
    assert send(client, predicted="cat", correct="nonsense")[0] == 400  # refused: not counted
    assert value(client.get("/metrics").content.decode(), sample) - before == 2


def test_the_openapi_document_describes_feedback(client):
    operation = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/feedback"]["post"]
    schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(schema["properties"]) == {"predicted", "correct", "model_version", "request_id", "consent", "image"}
    assert schema["properties"]["correct"]["enum"] == ["cat", "dog", "other"]
    assert {"201", "400", "405", "413", "415", "429"} <= set(operation["responses"])
    stored = operation["responses"]["201"]["content"]["application/json"]["schema"]
    assert stored["required"] == ["id", "photo_kept"]
    assert stored["properties"]["id"]["type"] == "integer" and stored["properties"]["photo_kept"]["type"] == "boolean"
    assert all(p["description"] for p in stored["properties"].values())


# --- the page ---------------------------------------------------------------------------

def test_each_answer_on_the_page_offers_the_other_labels(client):
    html = client.post("/", {"image": upload("cat.jpg", photo(CAT_PHOTOS[0]))}).content.decode()
    assert "{#" not in html and "#}" not in html  # no template comment shows on the page
    form = re.search(r'<form class="feedback".*?</form>', html, re.S).group(0)
    assert 'action="/feedback"' in form and 'name="csrfmiddlewaretoken"' in form
    assert re.search(r'name="predicted" value="cat"', form)
    shown = re.findall(r'<button type="submit" class="feedback-choice" name="correct" value="(\w+)">', form)
    assert shown == ["dog", "other"]  # "Wrong? It's a dog / neither": not the label it got
    assert "consent" not in form and "never the photo" in form  # without JavaScript no photo can go


def test_the_script_s_form_has_the_unticked_consent_box_and_says_what_is_kept(client):
    html = client.get("/").content.decode()
    template = re.search(r'<template id="feedback-template">(.*?)</template>', html, re.S).group(1)
    box = re.search(r'<input type="checkbox" name="consent"[^>]*>', template).group(0)
    assert "checked" not in box
    assert "Keep my photo to improve the model" in template
    assert "90 days" in template and "512 px" in template


def test_the_page_form_posts_without_javascript_and_says_thanks():
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    marker = version()
    response = browser.post("/feedback", {"csrfmiddlewaretoken": token, "predicted": "cat", "correct": "dog",
                                          "model_version": marker, "request_id": "abc"})
    assert response.status_code == 201 and "Thank you" in response.content.decode()
    row = Feedback.objects.get(model_version=marker)
    assert (row.predicted, row.correct, row.photo) == ("cat", "dog", None)


def test_the_page_form_needs_its_csrf_token():
    forged = Client(enforce_csrf_checks=True).post("/feedback", {"predicted": "cat", "correct": "dog",
                                                                 "model_version": version()})
    assert forged.status_code == 403


def test_a_bad_page_form_says_why_as_a_page(client):
    response = client.post("/feedback", {"predicted": "cat", "correct": "horse", "model_version": version()})
    assert response.status_code == 400 and "was not sent" in response.content.decode()


# --- the admin --------------------------------------------------------------------------

@pytest.fixture
def staff(client) -> Client:
    name = f"reviewer-{uuid.uuid4().hex[:8]}"
    User.objects.create_superuser(name, f"{name}@example.com", "a long test password")
    assert client.login(username=name, password="a long test password")
    return client


def test_nothing_of_the_admin_is_reachable_without_logging_in(client):
    _, answer = send(client, consent=True, image=photo(CAT_PHOTOS[0]))
    for path in ("/admin/", "/admin/feedback/feedback/", f"/admin/feedback/feedback/{answer['id']}/change/",
                 f"/admin/feedback/feedback/{answer['id']}/photo.jpg"):
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), path


def test_the_review_lists_feedback_with_thumbnails_and_filters(staff):
    marker = version()
    kept = send(staff, consent=True, image=photo(CAT_PHOTOS[0]), model_version=marker, predicted="other")[1]["id"]
    bare = send(staff, model_version=marker)[1]["id"]
    listing = staff.get("/admin/feedback/feedback/", {"model_version": marker}).content.decode()
    assert f'src="/admin/feedback/feedback/{kept}/photo.jpg"' in listing
    assert f"/admin/feedback/feedback/{bare}/photo.jpg" not in listing and "not kept" in listing
    only_other = staff.get("/admin/feedback/feedback/", {"model_version": marker, "predicted": "other"}).content.decode()
    assert f"/admin/feedback/feedback/{kept}/change/" in only_other
    assert f"/admin/feedback/feedback/{bare}/change/" not in only_other
    picture = staff.get(f"/admin/feedback/feedback/{kept}/photo.jpg")
    assert picture.status_code == 200 and picture["Content-Type"] == "image/jpeg"
    assert picture.content == bytes(Feedback.objects.get(pk=kept).photo)
    assert staff.get(f"/admin/feedback/feedback/{bare}/photo.jpg").status_code == 404


def test_login_attempts_are_rate_limited(client):
    with override_settings(LOGIN_RATE_LIMIT_PER_MINUTE=3):
        guesser = Client()
        codes = [guesser.post("/admin/login/", {"username": "admin", "password": f"guess{i}"}).status_code
                 for i in range(4)]
    assert codes == [200, 200, 200, 429]  # the form again (wrong password) three times, then refused


# --- export and retention ------------------------------------------------------------------

def test_export_writes_kept_photos_by_their_correct_label_and_every_row(client, tmp_path):
    kept = send(client, consent=True, image=gps_photo(), correct="dog", predicted="cat")[1]["id"]
    bare = send(client, correct="other")[1]["id"]
    call_command("export_feedback", str(tmp_path / "export"))
    exported = tmp_path / "export" / "dog" / f"{kept}.jpg"
    assert exported.read_bytes() == bytes(Feedback.objects.get(pk=kept).photo)
    assert b"Exif" not in exported.read_bytes() and b"Phonemaker" not in exported.read_bytes()
    rows = {int(r["id"]): r for r in csv.DictReader(open(tmp_path / "export" / "feedback.csv"))}
    assert set(rows) == set(Feedback.objects.values_list("pk", flat=True))
    assert rows[kept]["photo"] == f"dog/{kept}.jpg" and rows[bare]["photo"] == ""
    assert not list((tmp_path / "export").glob(f"*/{bare}.jpg"))


def test_new_feedback_forgets_what_has_outlived_the_retention(client):
    expired, kept = (send(client, consent=True, image=photo(CAT_PHOTOS[0]))[1]["id"] for _ in range(2))
    Feedback.objects.filter(pk=expired).update(created=timezone.now() - timedelta(days=90, minutes=1))
    Feedback.objects.filter(pk=kept).update(created=timezone.now() - timedelta(days=89))
    assert send(client)[0] == 201  # no cron needed on a site that is used
    assert not Feedback.objects.filter(pk=expired).exists() and Feedback.objects.filter(pk=kept).exists()


def test_purge_deletes_what_is_older_than_the_retention_and_single_entries(client):
    old, recent, unwanted = (send(client, consent=True, image=photo(CAT_PHOTOS[0]))[1]["id"] for _ in range(3))
    Feedback.objects.filter(pk=old).update(created=timezone.now() - timedelta(days=91))
    call_command("purge_feedback")  # FEEDBACK_RETENTION_DAYS, 90 by default
    assert not Feedback.objects.filter(pk=old).exists() and Feedback.objects.filter(pk=recent).exists()
    call_command("purge_feedback", "--id", str(unwanted))
    assert not Feedback.objects.filter(pk=unwanted).exists() and Feedback.objects.filter(pk=recent).exists()
    with pytest.raises(CommandError, match=f"no feedback with id {unwanted}"):
        call_command("purge_feedback", "--id", str(unwanted))
    Feedback.objects.filter(pk=recent).update(created=timezone.now() - timedelta(days=8))
    call_command("purge_feedback", "--older-than", "7")
    assert not Feedback.objects.filter(pk=recent).exists()
