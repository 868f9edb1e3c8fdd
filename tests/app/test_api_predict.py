"""POST /api/v1/predict: the contract field by field, each limit, each bad request."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import override_settings

from app.inference.answer import ImageNetKind
from app.inference.preprocess import decode_image
from tests import images
from tests.conftest import (CAT_PHOTOS, DOG_PHOTOS, EVERYDAY_PHOTOS, OTHER_PHOTOS, encode, photo, png_header,
                            upload)

URL = "/api/v1/predict"


def post(client, *files, url=URL):
    return client.post(url, {"image": list(files)})


@pytest.mark.parametrize("name,label", [(n, "cat") for n in CAT_PHOTOS] + [(n, "dog") for n in DOG_PHOTOS]
                         + [(n, "other") for n in OTHER_PHOTOS + EVERYDAY_PHOTOS])
def test_it_labels_real_photos(client, name, label):
    response = post(client, upload(name, photo(name)))
    assert response.status_code == 200
    prediction = response.json()["predictions"][0]
    assert prediction["label"] == label
    assert prediction["confidence"] > 0.5


def test_the_answer_has_every_documented_field(client, cat_jpeg):
    answer = post(client, upload("kitty.jpg", cat_jpeg)).json()
    assert set(answer) == {"predictions", "model", "timing_ms"}
    prediction = answer["predictions"][0]
    assert set(prediction) == {"filename", "label", "confidence", "scores"}
    assert prediction["filename"] == "kitty.jpg"
    assert set(prediction["scores"]) == {"cat", "dog", "other"}
    assert sum(prediction["scores"].values()) == pytest.approx(1.0, abs=1e-3)
    assert prediction["confidence"] == max(prediction["scores"].values())
    assert set(answer["model"]) == {"name", "version"} and all(answer["model"].values())
    assert {"preprocess", "inference", "total"} <= set(answer["timing_ms"])
    assert all(v >= 0 for v in answer["timing_ms"].values())


def test_an_other_answer_says_what_the_photo_nearest_imagenet_kind_and_a_pet_answer_does_not(client, cat_jpeg):
    names = ["car.1.jpg", "clothing.102.jpg", CAT_PHOTOS[0]]
    predictions = post(client, *[upload(n, photo(n)) for n in names]).json()["predictions"]
    car, clothing, cat = predictions
    assert car["label"] == clothing["label"] == "other"
    for other in (car, clothing):
        assert set(other["nearest_imagenet_kind"]) == {"name", "probability"}
        assert other["nearest_imagenet_kind"]["name"] and 0 < other["nearest_imagenet_kind"]["probability"] <= 1
    assert "nearest_imagenet_kind" not in cat


def test_nearest_imagenet_kind_never_names_a_cat_or_a_dog():
    from app.web.views import classifier

    served = classifier()
    imagenet = np.full(1000, 0.0001, np.float32)
    imagenet[281], imagenet[207], imagenet[287] = 0.6, 0.3, 0.05  # tabby cat, golden retriever, lynx
    assert served._nearest_imagenet_kind(imagenet) == ImageNetKind(name="lynx", probability=pytest.approx(0.05))


def test_heatmap_is_added_on_request(client, cat_jpeg):
    prediction = post(client, upload("cat.jpg", cat_jpeg), url=URL + "?heatmap=1").json()["predictions"][0]
    grid = np.array(prediction["heatmap"]["grid"])
    assert grid.ndim == 2 and grid.shape[0] == grid.shape[1] > 1
    assert grid.min() >= 0.0 and grid.max() == pytest.approx(1.0)
    assert prediction["heatmap"]["image"].startswith("data:image/jpeg;base64,")


def test_it_answers_several_photos_in_order(client):
    names = [CAT_PHOTOS[0], DOG_PHOTOS[0], OTHER_PHOTOS[0]]
    answer = post(client, *[upload(n, photo(n)) for n in names]).json()
    assert [p["filename"] for p in answer["predictions"]] == names
    assert [p["label"] for p in answer["predictions"]] == ["cat", "dog", "other"]


def test_a_bad_file_among_good_ones_gets_its_own_error(client, cat_jpeg):
    response = post(client, upload("notes.jpg", b"just some text"), upload("cat.jpg", cat_jpeg))
    assert response.status_code == 200
    bad, good = response.json()["predictions"]
    assert bad == {"filename": "notes.jpg", "error": {"code": "unsupported_format", "message": bad["error"]["message"]}}
    assert good["label"] == "cat"


@pytest.mark.parametrize("content,status,code", [
    (b"", 400, "empty_file"),
    (b"plain text", 415, "unsupported_format"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 50, 400, "corrupt_image"),
])
def test_a_request_whose_only_file_is_bad_fails_as_a_whole(client, content, status, code):
    response = post(client, upload("x.jpg", content))
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["predictions"][0]["error"]["code"] == code


def test_a_decompression_bomb_is_413(client):

    response = post(client, upload("bomb.png", png_header(60_000, 60_000) + b"\0" * 64))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_pixels"


def test_it_requires_the_image_field(client, cat_jpeg):
    response = client.post(URL, {"photo": upload("cat.jpg", cat_jpeg)})
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "missing_image", "message": response.json()["error"]["message"]}}


def test_it_requires_multipart(client, cat_jpeg):
    response = client.post(URL, cat_jpeg, content_type="image/jpeg")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_json_body_is_refused(client):
    response = client.post(URL, {"image": "cat.jpg"}, content_type="application/json")
    assert response.status_code == 415


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_other_methods_are_405(client, method):
    response = getattr(client, method)(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


@override_settings(MAX_FILES_PER_REQUEST=2)
def test_too_many_files_is_413(client, cat_jpeg):
    response = post(client, *[upload(f"{i}.jpg", cat_jpeg) for i in range(3)])
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_files"


@override_settings(MAX_UPLOAD_BYTES=10_000)
def test_a_body_over_the_size_limit_is_413(client, cat_jpeg):
    response = post(client, upload("big.jpg", cat_jpeg + b"\0" * 20_000))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


@pytest.mark.parametrize("name,expected", [
    ("../../etc/passwd.jpg", "passwd.jpg"),
    ("C:\\Users\\me\\cat.jpg", "cat.jpg"),
    ("bad\x00name\x07.jpg", "badname.jpg"),
    ("", "upload"),
    ("x" * 500 + ".jpg", "x" * 120),
])
def test_file_names_are_cleaned(client, cat_jpeg, name, expected):
    from app.inference.service import clean_filename

    assert clean_filename(name) == expected


def test_odd_file_names_do_not_matter(client, cat_jpeg):
    answer = post(client, upload("../../<script>.jpg", cat_jpeg)).json()
    assert answer["predictions"][0]["filename"] == "<script>.jpg"  # JSON-escaped by the client, never executed
    assert answer["predictions"][0]["label"] == "cat"


def test_the_model_sees_the_same_image_whatever_the_format(client, cat_rgb):
    answers = [post(client, upload(f"cat{ext}", encode(cat_rgb, ext))).json()["predictions"][0]
               for ext in (".png", ".bmp", ".tiff")]
    assert {a["label"] for a in answers} == {"cat"}
    assert max(a["confidence"] for a in answers) - min(a["confidence"] for a in answers) < 1e-3


# --- HEIC and AVIF (issue 20) ---------------------------------------------------------------

@pytest.mark.parametrize("name,label", [(CAT_PHOTOS[0], "cat"), (DOG_PHOTOS[0], "dog"), (OTHER_PHOTOS[0], "other")])
@pytest.mark.parametrize("make,ext", [(images.heic, ".heic"), (images.avif, ".avif")])
def test_heic_and_avif_photos_are_classified_like_their_jpeg(client, name, label, make, ext):
    rgb = decode_image(photo(name))
    jpeg, other = post(client, upload(name, photo(name)), upload(name + ext, make(rgb, quality=95))
                       ).json()["predictions"]
    assert other["label"] == jpeg["label"] == label
    assert abs(other["confidence"] - jpeg["confidence"]) < 0.05


def test_a_heic_photo_on_its_side_is_classified_upright(client):
    """A phone's portrait photo: the pixels lie on their side, irot says how to turn them."""
    rgb = decode_image(photo(DOG_PHOTOS[0]))
    stored = np.ascontiguousarray(np.rot90(rgb, 1))  # as the sensor stored it: turned anticlockwise
    upright, sideways = post(client, upload("dog.heic", images.heic(stored, orientation=6)),
                             upload("raw.png", encode(stored, ".png")),
                             url=URL + "?heatmap=1").json()["predictions"]
    assert upright["label"] == "dog"
    grid = np.array(upright["heatmap"]["grid"])
    assert grid.shape[0] == grid.shape[1]
    assert upright["scores"] != sideways["scores"]  # the model saw the photo turned, not as stored


@pytest.mark.parametrize("make", [images.heic, images.avif], ids=["heic", "avif"])
def test_a_heic_or_avif_bomb_is_413(client, make):
    bomb = images.patch_dimensions(make(np.zeros((16, 16, 3), np.uint8)), 60_000, 60_000)
    response = post(client, upload("bomb.heic", bomb))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_pixels"


@pytest.mark.parametrize("make", [images.heic, images.avif], ids=["heic", "avif"])
def test_a_truncated_heic_or_avif_is_400(client, cat_rgb, make):
    data = make(cat_rgb)
    response = post(client, upload("cut.heic", data[:len(data) // 2]))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "corrupt_image"


def test_the_heatmap_comes_with_the_photo_as_the_model_saw_it(client, cat_rgb):
    """What the page shows beside the heatmap: the same square pixels, without the overlay."""
    from app.inference.preprocess import resize_for_model

    heatmap = post(client, upload("cat.avif", images.avif(cat_rgb, quality=95)),
                   url=URL + "?heatmap=1").json()["predictions"][0]["heatmap"]
    photo_rgb, overlay_rgb = (decode_image(__import__("base64").b64decode(heatmap[k].split(",", 1)[1]))
                              for k in ("photo", "image"))
    assert photo_rgb.shape == overlay_rgb.shape
    expected = resize_for_model(cat_rgb, photo_rgb.shape[0]).astype(np.float32)
    assert np.abs(photo_rgb - expected).mean() < 4 < np.abs(overlay_rgb - expected).mean()


def test_a_heic_overlay_canvas_over_the_pixel_limit_is_413(client):
    from tests.app.heif_files import overlay_bomb

    response = post(client, upload("overlay.heic", overlay_bomb(8000, 8000)))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_pixels"
