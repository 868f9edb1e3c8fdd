"""A real browser: headless Debian Chromium opens the page, uploads photos and sees
the answers; axe-core audits the page before and after a prediction; the upload
works from the keyboard alone. Screenshots are kept in test-artifacts/ for a
person to look at.

`make test` installs chromium and chromium-driver from Debian, and axe-core
from the npm registry, when they are missing; without them these tests are
skipped and say why.
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
AXE = ROOT / "var" / "axe" / "node_modules" / "axe-core" / "axe.min.js"  # make test installs it (Makefile: axe)


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
    assert messages == ["This is not an image we can read. Send a JPEG, PNG, WebP, BMP, GIF, TIFF, HEIC or AVIF."]
    kinds = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".result-imagenet-kind")]
    assert len(kinds) == 1 and kinds[0].startswith("Nearest of ImageNet's 1,000 kinds: ")  # the clothes' card only
    browser.save_screenshot(str(ARTIFACTS / "browser-several.png"))


def serious_violations(driver) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed (make test installs it with npm)")
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then(r => done(r.violations)).catch(e => done([{id: 'axe-error', impact: 'critical',"
        " help: String(e), nodes: []}]));")
    return [f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']][:3]}"
            for v in result if v["impact"] in ("serious", "critical")]


def test_the_page_passes_axe_before_and_after_a_prediction(browser, server_url):
    from selenium.webdriver.common.by import By

    browser.get(server_url + "/")
    assert serious_violations(browser) == []
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "browser-before.png"))
    browser.find_element(By.ID, "image").send_keys(
        "\n".join(str(f) for f in (PETS / "cat.1.jpg", EVERYDAY / "clothing.102.jpg")))
    assert sorted(wait_for_labels(browser, 2)) == ["cat", "other"]
    assert serious_violations(browser) == []
    browser.save_screenshot(str(ARTIFACTS / "browser-audited.png"))


def test_the_upload_works_from_the_keyboard_and_is_announced(browser, server_url):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def press(key):  # to whatever has the focus, as a person would
        ActionChains(browser).send_keys(key).perform()

    browser.get(server_url + "/")
    field = browser.find_element(By.ID, "image")
    assert field.size["width"] <= 1 and field.size["height"] <= 1  # no bare "Choose Files" button on show
    press(Keys.TAB)
    assert browser.switch_to.active_element == field  # the first stop of the tab order
    ring = browser.execute_script(
        "return getComputedStyle(document.getElementById('dropzone')).outlineStyle")
    assert ring == "solid"  # the drop zone shows where the focus is
    field.send_keys(str(PETS / "cat.1.jpg"))  # what choosing in the file dialog does (it cannot be driven)
    assert wait_for_labels(browser, 1) == ["cat"]
    press(Keys.TAB)
    assert browser.switch_to.active_element.text == "Classify"
    press(Keys.ENTER)  # classifies the chosen photo again, from the keyboard
    assert wait_for_labels(browser, 2) == ["cat", "cat"]
    live = browser.find_element(By.ID, "announce")
    assert live.get_attribute("aria-live") == "polite"
    assert live.get_attribute("textContent").startswith("cat.1.jpg: cat, ")
