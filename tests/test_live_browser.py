"""Live mode in a real headless Chromium whose fake camera plays a video made of the bundled portrait
(issue #14): labels appear and stay stable on the same face, the age check answers, a refused camera
permission gets its message, and in on-device mode no request leaves the page."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("selenium")
from test_web import start_server, stop_server  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromedriver (apt)")


def write_y4m(path, frames: int = 40, size=(640, 480), face: bool = True, picture: Image.Image | None = None,
              at: tuple[int, int] = (120, 60)) -> None:
    """The portrait (or ``picture``) drifting slowly right and back from ``at`` (the fake camera loops: no
    jump at the seam) across a plain background — or, with ``face=False``, the background alone: a camera
    Chromium can play."""
    from agegender.cli import default_photo

    portrait = picture or Image.open(default_photo()).convert("RGB").resize((360, 360))
    w, h = size
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            canvas = Image.new("RGB", size, (90, 100, 110))
            if face:
                canvas.paste(portrait, (at[0] + 2 * min(i, frames - 1 - i), at[1]))
            ycc = np.asarray(canvas.convert("YCbCr"))
            f.write(b"FRAME\n" + ycc[:, :, 0].tobytes() + ycc[::2, ::2, 1].tobytes() + ycc[::2, ::2, 2].tobytes())


def _browser(tmp_path, camera: bool, face: bool = True, **y4m):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}", "--use-fake-device-for-media-stream"]
    if camera:
        write_y4m(tmp_path / "face.y4m", face=face, **y4m)
        args += ["--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={tmp_path / 'face.y4m'}"]
    for a in args:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


@pytest.fixture(scope="module")
def fast_server():
    proc, base = start_server("--fast", "--workers", "1")
    yield base
    stop_server(proc)


def _requests(browser) -> list[str]:
    urls = []
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return [u for u in urls if not u.startswith(("data:", "blob:"))]


def test_live_mode_follows_the_face_steadily_and_sends_nothing(fast_server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = _browser(tmp_path, camera=True)
    try:
        browser.get(fast_server + "/")
        browser.find_element(By.ID, "age-check").send_keys("15-20")
        browser.find_element(By.ID, "live-start").click()
        WebDriverWait(browser, 120).until(lambda d: d.execute_script("return window.agegenderLive.frames") >= 3)
        _requests(browser)  # everything loaded so far (page, runtime, models); from here on nothing may go out
        start = browser.execute_script("return window.agegenderLive.frames")
        WebDriverWait(browser, 120).until(lambda d: d.execute_script("return window.agegenderLive.frames") >= start + 10)
        live = browser.execute_script("return window.agegenderLive")
        assert _requests(browser) == []  # on-device: no frame and no answer left the page
        assert live["fps"] > 0 and live["latency_ms"] > 0
        history = [frame for frame in live["history"] if frame]
        assert len(history) >= 10 and all(len(frame) == 1 for frame in history)
        tracks = [(frame[0]["track"], [round(v) for v in frame[0]["box"]]) for frame in history]
        assert {t for t, _ in tracks} == {1}, tracks  # one face, one track
        late = history[3:]
        labels = {(f[0]["age_group"], f[0]["gender"], f[0]["undefined"]) for f in late}
        assert len(labels) == 1, labels  # no flicker once steadied
        assert all(f[0]["check"] in ("over", "under", "not sure — check ID") for f in late)
        text = browser.find_element(By.ID, "live-status").text
        assert "no frame leaves" in text
        import base64

        png = browser.execute_script("return document.getElementById('live-canvas').toDataURL('image/png')")
        (tmp_path / "live-canvas.png").write_bytes(base64.b64decode(png.split(",", 1)[1]))
        browser.find_element(By.ID, "live-start").click()  # pause
        assert browser.execute_script("return window.agegenderLive.running") is False
        browser.save_screenshot(str(tmp_path / "live.png"))
    finally:
        browser.quit()


def test_live_mode_says_undefined_for_a_false_face(fast_server, tmp_path):
    """The camera shows a colour wheel, on which RetinaFace finds a false face: live mode's second look
    (device.js) doubts it in every frame — "Undefined (not a face?)", never an answer, and an age check never
    passes it."""
    from pathlib import Path

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wheel = Image.open(Path(__file__).parent / "fixtures" / "nobody" / "colorwheel.png").convert("RGB")
    browser = _browser(tmp_path, camera=True, picture=wheel, at=(0, 0))  # its false face scored under DOUBT_SCORE
    try:
        browser.get(fast_server + "/")
        browser.find_element(By.ID, "age-check").send_keys("15-20")
        browser.find_element(By.ID, "live-start").click()
        faced = "return window.agegenderLive.history.filter((frame) => frame && frame.length).length"
        WebDriverWait(browser, 120).until(lambda d: d.execute_script("return window.agegenderLive.frames") >= 8
                                          and d.execute_script(faced) >= 4)  # (a loaded machine: some frames come empty)
        history = [frame for frame in browser.execute_script("return window.agegenderLive.history") if frame]
        assert len(history) >= 4, history
        assert all(f["undefined"] and f["text"].endswith("Undefined (not a face?)") and f["check"] == "not sure — check ID"
                   for frame in history for f in frame), history
    finally:
        browser.quit()


def test_a_refused_camera_permission_gets_a_clear_message(fast_server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = _browser(tmp_path, camera=False)
    try:
        browser.get(fast_server + "/")
        browser.execute_cdp_cmd("Browser.setPermission", {"permission": {"name": "camera"}, "setting": "denied",
                                                          "origin": fast_server})
        browser.find_element(By.ID, "live-start").click()
        WebDriverWait(browser, 30).until(lambda d: d.execute_script("return window.agegenderLive.error"))
        status = browser.find_element(By.ID, "live-status")
        assert "permission was refused" in status.text and status.get_attribute("class") == "error"
    finally:
        browser.quit()
