"""FastAPI application: ``POST /api/predict`` (an image → faces and answers), ``GET /health``, the page.

Safety: uploads are capped in bytes (a declared Content-Length over the cap is refused before the
body is read; the file itself is checked again) and in pixels (checked from the image header before
decoding); the format is sniffed from the content, never the
file name; nothing from the request ever becomes a file-system path; errors are JSON with a clear
message and the right status code. Predictions run one at a time in a worker thread (the dlib
objects are not documented as thread-safe), so concurrent requests are served correctly.
"""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import FastAPI, File, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from agegender import __version__
from agegender.imaging import sniff
from agegender.predictor import Predictor

STATIC = Path(__file__).parent / "static"
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

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
