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
import subprocess
import sys

import pytest

from benchmarks.server import Server
from tests.conftest import EVERYDAY, PETS, ROOT, photo

pytestmark = pytest.mark.slow
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
AXE = ROOT / "var" / "axe" / "node_modules" / "axe-core" / "axe.min.js"  # make test installs it (Makefile: axe)


@pytest.fixture(scope="module")
def server_env(tmp_path_factory) -> dict[str, str]:
    """The environment of the test's server: `make serve`'s defaults, with a database of its
    own so that reruns and the checkout's var/ never meet."""
    return {**os.environ, "WEB_CONCURRENCY": "1", "ALLOWED_HOSTS": "127.0.0.1",
            "STATIC_ROOT": str(tmp_path_factory.mktemp("static")), "DATA_DIR": str(tmp_path_factory.mktemp("data"))}


@pytest.fixture(scope="module")
def server_url(server_env):
    """gunicorn on loopback, configured as `make serve` configures it."""
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=server_env,
                   check=True)
    with Server(server_env) as server:
        server.wait_ready()
        yield server.url


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
    photo, heatmap = (browser.find_element(By.CSS_SELECTOR, c) for c in (".result-photo", ".result-heatmap"))
    assert photo.get_attribute("src").startswith("data:image/jpeg;base64,")  # the model's view replaced the preview
    assert photo.is_displayed() and not heatmap.is_displayed()  # the photo first, the heatmap a switch away
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


def shown_photo(element) -> "np.ndarray":
    """The pixels of a card's photo, as the page got them from the server."""
    import base64

    from app.inference.preprocess import decode_image

    return decode_image(base64.b64decode(element.get_attribute("src").split(",", 1)[1]))


def test_heic_avif_and_a_heic_on_its_side_are_classified_through_the_page(browser, server_url, tmp_path):
    import numpy as np
    from selenium.webdriver.common.by import By

    from app.inference.preprocess import decode_image, resize_for_model
    from tests import images

    dog, cat = decode_image(photo("dog.1.jpg")), decode_image(photo("cat.1.jpg"))
    stored = np.ascontiguousarray(np.rot90(dog, 1))  # a portrait as the sensor stored it
    files = {"cat.heic": images.heic(cat), "cat.avif": images.avif(cat), "dog-portrait.heic": images.heic(stored, 6)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    browser.get(server_url + "/")
    field = browser.find_element(By.ID, "image")
    assert {"image/heic", "image/heif", "image/avif", ".heic", ".avif"} <= set(field.get_attribute("accept").split(","))
    assert "HEIC" in browser.find_element(By.CLASS_NAME, "dropzone-hint").text
    field.send_keys("\n".join(str(tmp_path / name) for name in files))
    assert sorted(wait_for_labels(browser, 3)) == ["cat", "cat", "dog"]
    cards = {c.find_element(By.CLASS_NAME, "result-filename").text: c
             for c in browser.find_elements(By.CSS_SELECTOR, ".result")}
    assert cards["dog-portrait.heic"].find_element(By.CLASS_NAME, "result-label").text.lower() == "dog"
    upright = shown_photo(cards["dog-portrait.heic"].find_element(By.CLASS_NAME, "result-photo"))
    size = upright.shape[0]
    difference = lambda a, b: float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())  # noqa: E731
    assert difference(upright, resize_for_model(dog, size)) < 10 < difference(upright, resize_for_model(stored, size))
    browser.save_screenshot(str(ARTIFACTS / "browser-heic-avif.png"))


def test_the_photo_and_heatmap_switch_works_from_the_keyboard(browser, server_url):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def press(key):
        ActionChains(browser).send_keys(key).perform()

    browser.get(server_url + "/")
    browser.find_element(By.ID, "image").send_keys(str(PETS / "dog.1.jpg"))
    assert wait_for_labels(browser, 1) == ["dog"]
    photo_radio = browser.find_element(By.CSS_SELECTOR, ".result-view input[value=photo]")
    for _ in range(6):  # from the top of the page, as a person tabbing through it
        press(Keys.TAB)
        if browser.switch_to.active_element == photo_radio:
            break
    assert browser.switch_to.active_element == photo_radio and photo_radio.is_selected()
    photo_image, heatmap_image = (browser.find_element(By.CSS_SELECTOR, c) for c in (".result-photo", ".result-heatmap"))
    assert photo_image.is_displayed() and not heatmap_image.is_displayed()
    press(Keys.ARROW_RIGHT)  # radio buttons: the arrow keys move within the group
    assert browser.find_element(By.CSS_SELECTOR, ".result-view input[value=heatmap]").is_selected()
    assert heatmap_image.is_displayed() and not photo_image.is_displayed()
    label = browser.find_element(By.CSS_SELECTOR, ".result-view label[for$=-heatmap]").text
    assert label == "Where it looked" and browser.find_element(By.CSS_SELECTOR, ".result-view legend").text == "Show"
    browser.save_screenshot(str(ARTIFACTS / "browser-heatmap-switched.png"))
    press(Keys.ARROW_LEFT)
    assert photo_image.is_displayed() and not heatmap_image.is_displayed()


def test_without_javascript_the_page_renders_the_same_switch(browser, server_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.get(server_url + "/")
        browser.find_element(By.ID, "image").send_keys(str(PETS / "cat.1.jpg"))
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()  # a plain form POST
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".result-label"))
        assert browser.find_element(By.CSS_SELECTOR, ".result-label").text.lower() == "cat"
        assert browser.find_element(By.CSS_SELECTOR, ".result-view input").get_attribute("id") == "view-1-photo"  # the server's
        photo_image, heatmap_image = (browser.find_element(By.CSS_SELECTOR, c) for c in (".result-photo", ".result-heatmap"))
        assert photo_image.is_displayed() and not heatmap_image.is_displayed()
        browser.find_element(By.CSS_SELECTOR, ".result-view label[for$=-heatmap]").click()
        assert heatmap_image.is_displayed() and not photo_image.is_displayed()
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


# --- "Wrong? It's ...": feedback, then the review in the admin ------------------------------

REVIEWER, PASSWORD = "reviewer", "a long browser-test password"


def send_feedback(browser, card, choice: str, keep_photo: bool) -> str:
    """Flag a card's answer from the keyboard, as a person would: Space ticks the box, Enter
    presses the button. Returns the thanks that took the form's place."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    box = card.find_element(By.CSS_SELECTOR, ".feedback input[name=consent]")
    assert not box.is_selected()  # nothing is kept unless asked
    if keep_photo:
        browser.execute_script("arguments[0].focus()", box)
        ActionChains(browser).send_keys(Keys.SPACE).perform()
        assert box.is_selected()
    button = card.find_element(By.CSS_SELECTOR, f".feedback button[value={choice}]")
    browser.execute_script("arguments[0].focus()", button)
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    thanks = WebDriverWait(browser, 30).until(lambda d: card.find_elements(By.CSS_SELECTOR, ".feedback-thanks"))[0]
    assert browser.switch_to.active_element == thanks  # the focus is not lost with the button
    return thanks.text


def admin_rows(driver, arrived, timeout: float = 30) -> list:
    """The rows of the admin's change list once the browser has reached the page `arrived` accepts."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: arrived(d.current_url) and d.find_elements(By.CSS_SELECTOR, "#result_list"),
        message=f"the admin's change list never appeared (at {driver.current_url})")
    return driver.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")


def test_flagging_answers_with_and_without_the_photo_and_reviewing_them_in_the_admin(browser, server_url, server_env):
    from selenium.webdriver.common.by import By

    browser.get(server_url + "/")
    browser.find_element(By.ID, "image").send_keys(str(PETS / "cat.1.jpg"))
    assert wait_for_labels(browser, 1) == ["cat"]
    card = browser.find_element(By.CSS_SELECTOR, ".result")
    choices = [b.text for b in card.find_elements(By.CSS_SELECTOR, ".feedback button") if b.is_displayed()]
    assert choices == ["a dog", "neither"]  # "Wrong? It's ...": never the label it got
    assert "Keep my photo to improve the model" in card.text and "512 px" in card.text
    ARTIFACTS.mkdir(exist_ok=True)
    browser.execute_script("arguments[0].scrollIntoView()", card)
    card.screenshot(str(ARTIFACTS / "browser-feedback-form.png"))
    thanks = send_feedback(browser, card, "dog", keep_photo=False)
    assert thanks.startswith("Thank you") and "no photo" in thanks
    assert browser.find_element(By.ID, "announce").get_attribute("textContent") == thanks  # read out, politely

    browser.get(server_url + "/")  # the file input keeps what it was given: start afresh
    browser.find_element(By.ID, "image").send_keys(str(PETS / "dog.1.jpg"))
    assert wait_for_labels(browser, 1) == ["dog"]
    thanks = send_feedback(browser, browser.find_element(By.CSS_SELECTOR, ".result"), "other", keep_photo=True)
    assert "the photo were kept" in thanks
    assert serious_violations(browser) == []
    browser.save_screenshot(str(ARTIFACTS / "browser-feedback.png"))

    subprocess.run([sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", REVIEWER,
                    "--email", "reviewer@example.com"], cwd=ROOT, check=True, capture_output=True,
                   env={**server_env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD})  # as README's first account
    browser.get(server_url + "/admin/feedback/feedback/")
    assert "/admin/login/" in browser.current_url  # nothing without logging in
    browser.find_element(By.ID, "id_username").send_keys(REVIEWER)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD + "\n")
    rows = admin_rows(browser, lambda url: "/admin/login/" not in url)  # the submit navigates: wait for the list
    assert len(rows) >= 2
    kept, bare = rows[0], rows[1]  # newest first
    assert [c.text for c in kept.find_elements(By.CSS_SELECTOR, ".field-predicted, .field-correct")] == ["dog", "other"]
    assert [c.text for c in bare.find_elements(By.CSS_SELECTOR, ".field-predicted, .field-correct")] == ["cat", "dog"]
    assert "not kept" in bare.text
    thumbnail = kept.find_element(By.CSS_SELECTOR, "img.feedback-thumbnail")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", thumbnail) > 0
    browser.save_screenshot(str(ARTIFACTS / "browser-admin.png"))
    browser.find_element(By.CSS_SELECTOR, "#changelist-filter a[href*='correct__exact=other']").click()
    filtered = [r.find_element(By.CSS_SELECTOR, ".field-correct").text
                for r in admin_rows(browser, lambda url: "correct__exact=other" in url)]
    assert filtered and set(filtered) == {"other"}
    browser.delete_all_cookies()


def test_without_javascript_the_feedback_form_posts_and_keeps_no_photo(browser, server_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.get(server_url + "/")
        browser.find_element(By.ID, "image").send_keys(str(PETS / "dog.2.jpg"))
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".result-label"))
        form = browser.find_element(By.CSS_SELECTOR, ".feedback")
        assert not form.find_elements(By.CSS_SELECTOR, "input[name=consent]") and "never the photo" in form.text
        form.find_element(By.CSS_SELECTOR, "button[value=cat]").click()
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".thanks"))
        assert "no photo" in browser.find_element(By.CSS_SELECTOR, ".thanks").text
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
