"""The page in a real headless Chromium: upload the bundled photo, read the rendered answer."""

import shutil

import pytest

pytest.importorskip("selenium")
from test_web import server  # noqa: E402,F401  (the running-server fixture)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromedriver (apt)")


@pytest.fixture()
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(arg)
    # a phone-sized viewport (headless windows cannot be narrower than 500 px, emulation can)
    opts.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3}})
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield drv
    drv.quit()


def test_upload_photo_shows_labels_on_a_phone_sized_page(server, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from agegender.cli import default_photo

    browser.get(server + "/")
    assert "agegender" in browser.title
    # installable: the service worker registers and controls the page's scope
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return navigator.serviceWorker.getRegistration('/').then(r => !!(r && r.active))") is True)
    inp = browser.find_element(By.ID, "file")
    browser.execute_script("arguments[0].hidden = false;", inp)
    inp.send_keys(str(default_photo()))
    WebDriverWait(browser, 120).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#faces li"))
    items = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#faces li")]
    assert len(items) == 1 and "female" in items[0]
    status = browser.find_element(By.ID, "status").text
    assert "1 face(s)" in status
    width, viewport = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert viewport == 390 and width <= viewport  # fits a narrow phone screen: no horizontal scrolling
    assert browser.execute_script("return document.getElementById('canvas').width") == 512
    browser.save_screenshot(str(tmp_path / "phone.png"))
