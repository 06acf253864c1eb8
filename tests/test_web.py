"""The web app against a real running server (uvicorn in a subprocess), over HTTP."""

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")


def start_server(*extra: str, **popen_kw) -> tuple[subprocess.Popen, str]:
    """`agegender serve` in a subprocess on a free port; returns once /health answers."""
    from agegender.web import local

    try:
        return local.start(*extra, **popen_kw)
    except local.ServerFailed as e:
        pytest.fail(str(e))


def stop_server(proc: subprocess.Popen) -> None:
    from agegender.web import local

    local.stop(proc)


@pytest.fixture(scope="module")
def server():
    proc, base = start_server("--max-mb", "2", "--max-pixels", "4000000")
    yield base
    stop_server(proc)


def _post(base, data: bytes, name="photo.jpg", ctype="image/jpeg", route="/api/predict"):
    return httpx.post(base + route, files={"file": (name, data, ctype)}, timeout=120)


def test_health_and_openapi(server):
    h = httpx.get(server + "/health").json()
    assert h["status"] == "ok" and h["model"] == "model"
    spec = httpx.get(server + "/openapi.json").json()
    assert "/api/predict" in spec["paths"]
    assert "image/jpeg" in spec["paths"]["/api/preview"]["post"]["responses"]["200"]["content"]
    page = httpx.get(server + "/")
    assert page.status_code == 200 and 'capture="user"' in page.text and "http" not in page.text.split("<body>")[1].split("footer")[0].replace("/static", "")
    assert httpx.get(server + "/static/app.js").status_code == 200


def test_good_photo(server):
    from agegender.cli import default_photo

    r = _post(server, default_photo().read_bytes())
    assert r.status_code == 200
    body = r.json()
    assert body["width"] == 512 and len(body["faces"]) == 1
    face = body["faces"][0]
    assert face["best_gender"] == "f" and set(face["age_probs"]) == {"0-2", "4-6", "8-13", "15-20", "25-32", "38-43", "48-53", "60+"}
    assert body["source"] == "upload"  # the client's file name is never used
    # an iPhone's HEIC photo, stored on its side with the turn recorded in the file: answered upright
    heic = Path(__file__).parent / "fixtures" / "heic" / "astronaut-turned.heic"
    r = _post(server, heic.read_bytes(), "IMG_0042.HEIC", "image/heic")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["width"], body["height"]) == (400, 512) and len(body["faces"]) == 1
    assert body["faces"][0]["best_gender"] == "f"


def test_no_face_is_an_answer_not_an_error(server):
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (30, 120, 200)).save(buf, "PNG")
    r = _post(server, buf.getvalue(), "x.png", "image/png")
    assert r.status_code == 200 and r.json()["faces"] == [] and r.json()["undefined_reason"] == "no face found"


@pytest.mark.parametrize("route", ["/api/predict", "/api/preview"])
@pytest.mark.parametrize("data,name,status,words", [
    (b"\xff\xd8\xff\xe0 corrupt", "bad.jpg", 422, "truncated"),
    (b"%PDF-1.4 this is a pdf", "trick.jpg", 415, "not a supported image"),
    (b"", "empty.jpg", 400, "empty upload"),
])
def test_bad_uploads_get_json_errors(server, data, name, status, words, route):
    r = _post(server, data, name, route=route)
    assert r.status_code == status and words in r.json()["error"]


@pytest.mark.parametrize("route", ["/api/predict", "/api/preview"])
def test_oversize_and_pixel_bomb(server, route):
    r = _post(server, b"\xff\xd8\xff" + b"\0" * (3 * 1024 * 1024), route=route)
    assert r.status_code == 413 and "too large" in r.json()["error"]
    buf = io.BytesIO()
    Image.new("L", (3000, 3000)).save(buf, "PNG")   # small file, 9 MP > the 4 MP limit
    r = _post(server, buf.getvalue(), "big.png", "image/png", route=route)
    assert r.status_code == 413 and "too large" in r.json()["error"]


def test_preview_is_the_photo_upright_as_a_jpeg(server):
    """/api/preview: the photo as the server reads it, for a browser that cannot show the upload (HEIC in
    Chrome): the iPhone photo stored on its side comes back upright, in the size /api/predict's boxes are
    in; a large photo comes back at most 1,280 px long, its shape kept."""
    from agegender.imaging import load_image

    heic = (Path(__file__).parent / "fixtures" / "heic" / "astronaut-turned.heic").read_bytes()
    r = _post(server, heic, "IMG_0042.HEIC", "image/heic", route="/api/preview")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    shown = Image.open(io.BytesIO(r.content))
    answered = _post(server, heic, "IMG_0042.HEIC", "image/heic").json()
    assert shown.format == "JPEG" and shown.size == (answered["width"], answered["height"]) == (400, 512)
    upright = load_image(heic).astype(np.float32)
    assert np.abs(np.asarray(shown.convert("RGB"), np.float32) - upright).mean() < 6  # the same pixels, not turned
    buf = io.BytesIO()
    Image.new("RGB", (1800, 900), (200, 30, 30)).save(buf, "PNG")
    r = _post(server, buf.getvalue(), "wide.png", "image/png", route="/api/preview")
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (1280, 640)


def test_concurrent_requests_all_answered(server):
    from concurrent.futures import ThreadPoolExecutor

    from agegender.cli import default_photo

    photo = default_photo().read_bytes()
    blank = io.BytesIO()
    Image.fromarray(np.zeros((120, 160, 3), np.uint8)).save(blank, "PNG")
    jobs = [photo, blank.getvalue()] * 4
    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda d: _post(server, d), jobs))
    assert [r.status_code for r in results] == [200] * 8
    assert [len(r.json()["faces"]) for r in results] == [1, 0] * 4


def test_load_check_command_runs_and_refuses_other_hosts(server):
    from agegender.bench import load
    from agegender.cli import default_photo

    r = load.run(server, default_photo(), clients=2, seconds=2, max_requests=6)
    assert r["ok"] >= 1 and not r["errors"] and r["latency_ms"]["p50"] > 0
    with pytest.raises(ValueError, match="only targets this machine"):
        load.run("http://192.168.1.10:8000", default_photo(), seconds=1)


def test_pwa_manifest_icons_and_service_worker(server):
    m = httpx.get(server + "/static/manifest.webmanifest").json()
    assert m["start_url"] == "/" and m["display"] == "standalone" and m["name"].startswith("agegender")
    for icon in m["icons"]:
        r = httpx.get(server + icon["src"])
        assert r.status_code == 200
        w, h = Image.open(io.BytesIO(r.content)).size
        assert f"{w}x{h}" == icon["sizes"]
    sw = httpx.get(server + "/sw.js")
    assert sw.status_code == 200 and "javascript" in sw.headers["content-type"] and "/api/" in sw.text
    assert 'rel="manifest"' in httpx.get(server + "/").text


def test_on_device_files_are_served_locally(server):
    """What the installed app needs offline: settings, the four ONNX models and onnxruntime-web."""
    import onnxruntime as ort

    cfg = httpx.get(server + "/models/device.json").json()
    assert cfg["thresholds"]["age"] > 0 and len(cfg["alignment"]["template"]) == 5
    assert cfg["labels"]["age_groups"][0] == "0-2" and cfg["age_net"]["size"] == 64
    # the default model runs on the device too: the dlib network it uses (the whole descriptor, or the
    # trunk below the layers the model fine-tuned) is served as ONNX
    dlib_net = {"dlib128": "descriptor.onnx", "dlibtrunk": "trunk.onnx"}
    from agegender.predictor import Predictor

    assert cfg["extractors"] == Predictor.default().metadata["preprocessing"]["extractors"]
    (dlib,) = [e for e in cfg["extractors"] if e in dlib_net]
    assert cfg["dlib_nets"][dlib]["file"] == dlib_net[dlib]
    # … and faceres-deep, whose chip and normalisation (BGR minus the ImageNet means) travel in device.json
    assert "faceres" in cfg["extractors"]
    assert cfg["faceres_net"]["size"] == 224 and cfg["faceres_net"]["mean_bgr"][0] == pytest.approx(103.939)
    for name in ("retinaface.onnx", "age.onnx", "gender.onnx", "head.onnx", dlib_net[dlib], "faceres.onnx"):
        assert f"/models/{name}" in cfg["files"]
        r = httpx.get(server + "/models/" + name)
        assert r.status_code == 200
        ort.InferenceSession(r.content, providers=["CPUExecutionProvider"])  # a real ONNX model
    head = ort.InferenceSession(httpx.get(server + "/models/head.onnx").content, providers=["CPUExecutionProvider"])
    assert {o.name for o in head.get_outputs()} == set(cfg["head"]["outputs"])
    for bad in ("nope.onnx", "..%2Fmetadata.json", "%2Fetc%2Fpasswd"):
        assert httpx.get(server + "/models/" + bad).status_code == 404
    # the wasm binary is stored gzipped and sent with Content-Encoding: gzip (httpx inflates it)
    r = httpx.get(server + "/static/ort/ort-wasm-simd-threaded.wasm")
    assert r.headers["content-encoding"] == "gzip" and r.headers["content-type"] == "application/wasm"
    assert r.content[:4] == b"\0asm"
    for js in ("/static/ort/ort.wasm.min.js", "/static/ort/ort-wasm-simd-threaded.mjs", "/static/device.js"):
        r = httpx.get(server + js)
        assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    sw = httpx.get(server + "/sw.js").text
    for path in ("/models/device.json", "cfg.files", "/static/ort/ort-wasm-simd-threaded.wasm", "/static/device.js"):
        assert path in sw  # precached at install (the model files device.json lists), so the app works offline


def test_the_phone_runs_the_servers_model_only_when_it_can():
    from types import SimpleNamespace

    from agegender.predictor import FAST_MODEL
    from agegender.web.device import device_model_dir

    def served(extractors, output="two_hot"):
        return SimpleNamespace(metadata={"preprocessing": {"extractors": extractors}}, output=output, model_dir="served")

    assert device_model_dir(served(["dlib128", "agnet"])) == "served"
    assert device_model_dir(served(["dlib128+agnet"])) == "served"
    assert device_model_dir(served(["pixels"])) == FAST_MODEL          # no browser version of that extractor
    assert device_model_dir(served(["agnet"], "tuple")) == FAST_MODEL  # device.js reads two softmax heads
