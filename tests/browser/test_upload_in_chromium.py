"""A real browser: headless Debian Chromium opens the page, uploads a cat photo
and sees "cat". The screenshot is kept in test-artifacts/ for a person to look at.

`make test` installs chromium and chromium-driver from Debian when they are
missing; without them this test is skipped and says why.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import EVERYDAY, PETS, ROOT

pytestmark = pytest.mark.slow
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """gunicorn on loopback, configured as `make serve` configures it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    static_root = tmp_path_factory.mktemp("static")
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "STATIC_ROOT": str(static_root),
           "WEB_CONCURRENCY": "1", "ALLOWED_HOSTS": "127.0.0.1"}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen([str(gunicorn), "--config", "gunicorn.conf.py"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/readyz", timeout=2)
            break
        except OSError:
            time.sleep(0.3)
    yield url
    server.terminate()
    server.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Debian's chromium and chromium-driver are not installed (make test installs them as root)")
    os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager try to download a browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1100,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def wait_for_labels(driver, count: int, timeout: float = 30) -> list[str]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".result:not(.is-pending)")) >= count)
    return [e.text.strip().lower() for e in driver.find_elements(By.CSS_SELECTOR, ".result-label")]


def test_uploading_a_cat_photo_answers_cat(browser, server_url):
    from selenium.webdriver.common.by import By

    browser.get(server_url + "/")
    assert "Cat, dog, or neither?" in browser.title
    browser.find_element(By.ID, "image").send_keys(str(PETS / "cat.1.jpg"))
    assert wait_for_labels(browser, 1) == ["cat"]
    heatmap = browser.find_element(By.CSS_SELECTOR, ".result-image").get_attribute("src")
    assert heatmap.startswith("data:image/jpeg;base64,")  # the overlay replaced the preview
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "browser-cat.png"))
    assert browser.get_log("browser") == [] or all(
        entry["level"] != "SEVERE" for entry in browser.get_log("browser"))


def test_several_photos_and_a_bad_file_at_once(browser, server_url, tmp_path):
    from selenium.webdriver.common.by import By

    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    browser.get(server_url + "/")
    files = [PETS / "dog.1.jpg", EVERYDAY / "clothing.102.jpg", bad]
    browser.find_element(By.ID, "image").send_keys("\n".join(str(f) for f in files))
    labels = wait_for_labels(browser, 3)
    assert sorted(labels) == ["dog", "other"]
    messages = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".result-message")]
    assert messages == ["This is not an image we can read. Send a JPEG, PNG, WebP, BMP, GIF or TIFF."]
    kinds = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".result-imagenet-kind")]
    assert len(kinds) == 1 and kinds[0].startswith("Nearest of ImageNet's 1,000 kinds: ")  # the clothes' card only
    browser.save_screenshot(str(ARTIFACTS / "browser-several.png"))
