"""The HTML page: the form, the no-JavaScript POST, friendly errors, CSRF, headers."""

from __future__ import annotations

import re

from django.test import Client

from tests.conftest import photo, upload


def test_the_page_offers_a_multipart_form(client):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in html
    assert re.search(r'<input[^>]+name="image"[^>]+multiple', html)
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<meta name="viewport"' in html


def test_static_files_are_fingerprinted_and_served(client):
    html = client.get("/").content.decode()
    css = re.search(r'href="(/static/web/app\.[0-9a-f]{12}\.css)"', html)
    js = re.search(r'src="(/static/web/app\.[0-9a-f]{12}\.js)"', html)
    assert css and js  # whitenoise's manifest names: cacheable forever


def test_the_form_works_without_javascript(client):
    response = client.post("/", {"image": upload("my cat.jpg", photo("cat.1.jpg"))})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-label="cat"' in html
    assert "my cat.jpg" in html
    assert 'src="data:image/jpeg;base64,' in html  # the heatmap overlay
    assert "% sure" in html


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
