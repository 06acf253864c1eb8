"""FastAPI application: ``POST /api/predict`` (an image → faces and answers), ``GET /health``, the page.

Safety: uploads are capped in bytes (a declared Content-Length over the cap is refused before the
body is read; the file itself is checked again) and in pixels (checked from the image header before
decoding); the format is sniffed from the content, never the
file name; nothing from the request ever becomes a file-system path; errors are JSON with a clear
message and the right status code. Predictions run one at a time in a worker thread (the dlib
objects are not documented as thread-safe), so concurrent requests are served correctly.
"""

from __future__ import annotations

import mimetypes
import threading
from pathlib import Path

from fastapi import FastAPI, File, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from agegender import __version__
from agegender.imaging import sniff
from agegender.predictor import Predictor

STATIC = Path(__file__).parent / "static"
WASM = STATIC / "ort" / "ort-wasm-simd-threaded.wasm.gz"
mimetypes.add_type("text/javascript", ".mjs")  # onnxruntime-web's ES module (not known to every Python)
MAX_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000


def create_app(predictor: Predictor | None = None, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> FastAPI:
    app = FastAPI(title="agegender", version=__version__,
                  description="Age group (8 Adience groups) and gender of every face in an image, or Undefined with the reason.")
    pred = predictor or Predictor.default()
    pred.max_pixels = max_pixels
    lock = threading.Lock()

    def run(data: bytes, name: str):
        with lock:
            return pred.predict(data, name=name)

    @app.middleware("http")
    async def refuse_oversize(request: Request, call_next):
        declared = request.headers.get("content-length", "")
        if request.url.path == "/api/predict" and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
            return JSONResponse({"error": f"file too large: over {max_bytes // (1024 * 1024)} MB"}, status_code=413)
        return await call_next(request)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "version": __version__, "model": pred.model_dir.name,
                "thresholds": {"age": pred.thresholds.age, "gender": pred.thresholds.gender}}

    @app.post("/api/predict")
    async def predict(file: UploadFile = File(..., description="an image (JPEG, PNG, WebP, …)")) -> JSONResponse:
        chunks, size = [], 0
        while chunk := await file.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise HTTPException(413, f"file too large: over {max_bytes // (1024 * 1024)} MB")
            chunks.append(chunk)
        data = b"".join(chunks)
        if not data:
            raise HTTPException(400, "empty upload")
        name = "upload"  # the client's file name is never used as a path, only the content counts
        if sniff(data) is None:
            raise HTTPException(415, "not a supported image (JPEG, PNG, GIF, BMP, TIFF or WebP expected)")
        result = await run_in_threadpool(run, data, name)
        if not result.ok:
            status = 413 if "too large" in result.error else 422
            raise HTTPException(status, result.error)
        return JSONResponse(result.to_dict())

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/sw.js", include_in_schema=False)
    def service_worker() -> FileResponse:
        # served from the root so that its scope covers the whole app
        return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    # ---- the in-browser (offline) path: onnxruntime-web and the models it runs (web/device.py)
    from agegender.web.device import device_files, device_settings

    files = device_files(pred)
    settings = device_settings(pred, files)

    @app.get("/models/device.json", include_in_schema=False)
    def device_json() -> JSONResponse:
        return JSONResponse(settings, headers={"Cache-Control": "no-cache"})

    @app.get("/models/{name}", include_in_schema=False)
    def model_file(name: str):
        f = files.get(name)  # a fixed table: the request's name is never used as a path
        if f is None:
            raise HTTPException(404, f"no model file {name!r}")
        if isinstance(f, bytes):
            return Response(f, media_type="application/octet-stream", headers={"Cache-Control": "no-cache"})
        return FileResponse(f, media_type="application/octet-stream", headers={"Cache-Control": "no-cache"})

    @app.get("/static/ort/ort-wasm-simd-threaded.wasm", include_in_schema=False)
    def ort_wasm() -> FileResponse:
        # stored gzipped in the package (14 MB → 3.7 MB); the browser inflates it
        return FileResponse(WASM, media_type="application/wasm", headers={"Content-Encoding": "gzip"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
