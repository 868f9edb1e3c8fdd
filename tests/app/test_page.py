"""The HTML page: the form, the no-JavaScript POST, friendly errors, CSRF, headers."""

from __future__ import annotations

import gzip
import re

from django.test import Client

from tests.conftest import ROOT, photo, upload

STATIC = ROOT / "app" / "web" / "static" / "web"


def test_the_page_offers_a_multipart_form(client):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in html
    assert re.search(r'<input[^>]+name="image"[^>]+multiple', html)
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<meta name="viewport"' in html


def fetch(client: Client, path: str, **headers) -> tuple[int, dict, bytes]:
    """(status, headers, body) of a file whitenoise serves (its answers stream)."""
    response = client.get(path, **headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, response.headers, body


def test_static_files_are_fingerprinted_and_served(client):
    html = client.get("/").content.decode()
    css = re.search(r'href="(/static/web/app\.[0-9a-f]{12}\.css)"', html)
    js = re.search(r'src="(/static/web/app\.[0-9a-f]{12}\.js)"', html)
    assert css and js  # whitenoise's manifest names: cacheable forever
    for url, source, content_type in ((css[1], STATIC / "app.css", "text/css"),
                                      (js[1], STATIC / "app.js", "text/javascript")):
        status, headers, body = fetch(client, url)
        assert status == 200 and body == source.read_bytes()  # the file itself, byte for byte
        assert headers["Content-Type"].startswith(content_type)
        assert headers["Content-Length"] == str(len(body))
        assert "immutable" in headers["Cache-Control"] and "max-age=315360000" in headers["Cache-Control"]
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_static_files_come_compressed_to_clients_that_ask(client):
    url = re.search(r'href="(/static/web/app\.[0-9a-f]{12}\.css)"', client.get("/").content.decode())[1]
    status, headers, body = fetch(client, url, HTTP_ACCEPT_ENCODING="gzip")
    assert status == 200 and headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in headers["Vary"]
    assert gzip.decompress(body) == (STATIC / "app.css").read_bytes()


def test_a_static_name_without_its_fingerprint_is_not_cached_for_long_and_a_missing_one_is_404(client):
    status, headers, body = fetch(client, "/static/web/app.css")
    assert status == 200 and body == (STATIC / "app.css").read_bytes()
    assert "immutable" not in headers["Cache-Control"]  # its content may change under the same name
    assert client.get("/static/web/no-such-file.css").status_code == 404


def test_the_form_works_without_javascript(client):
    response = client.post("/", {"image": upload("my cat.jpg", photo("cat.1.jpg"))})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-label="cat"' in html
    assert "my cat.jpg" in html
    assert 'src="data:image/jpeg;base64,' in html  # the heatmap overlay
    assert "% sure" in html


def test_the_page_shows_every_part_of_the_apis_answer(client):
    """The page renders the answer the API sends: label, scores, nearest ImageNet kind, a file's error."""
    def files():
        return {"image": [upload("car.jpg", photo("car.1.jpg")), upload("notes.jpg", b"just some text")]}

    car, notes = client.post("/api/v1/predict", files()).json()["predictions"]
    html = client.post("/", files()).content.decode()
    assert f'data-label="{car["label"]}"' in html
    assert f"Nearest of ImageNet's 1,000 kinds: {car['nearest_imagenet_kind']['name']} (" in html
    assert all(f"<dt>{name}</dt>" in html for name in car["scores"])
    assert notes["error"]["message"].split(".")[0] in html


def test_the_form_shows_a_readable_error_for_a_bad_file(client):
    response = client.post("/", {"image": upload("notes.txt", b"not an image at all")})
    html = response.content.decode()
    assert response.status_code == 415
    assert "This is not an image we can read" in html
    assert "Traceback" not in html


def test_the_form_without_a_file_explains_itself(client):
    response = client.post("/", {})
    assert response.status_code == 400
    assert "No photo received" in response.content.decode()


def test_the_form_is_csrf_protected():
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/", {"image": upload("cat.jpg", photo("cat.1.jpg"))})
    assert response.status_code == 403
    assert "Reload the page" in response.content.decode()


def test_the_form_accepts_its_own_csrf_token():
    strict = Client(enforce_csrf_checks=True)
    strict.get("/")
    token = strict.cookies["csrftoken"].value
    response = strict.post("/", {"image": upload("cat.jpg", photo("cat.1.jpg")), "csrfmiddlewaretoken": token})
    assert response.status_code == 200


def test_security_headers(client):
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_page_has_no_inline_script_or_style(client):
    html = client.get("/").content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "style=" not in html and "<style" not in html


def test_other_methods_are_refused(client):
    assert client.put("/").status_code == 405
