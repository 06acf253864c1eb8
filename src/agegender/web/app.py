"""FastAPI application: ``POST /api/predict`` (an image → faces and answers), ``POST /api/preview`` (the
photo as a JPEG, for browsers that cannot show it), health, readiness, metrics, the page and the files
the page needs to run the model on the phone.

Predictions run in a pool of worker processes (:mod:`agegender.web.pool`), one model each, behind a
bounded queue: a full queue answers 503 with ``Retry-After`` at once, a request over its time limit
504. Uploads are capped in bytes while they are read (declared or chunked: reading stops at the cap)
and in pixels (from the image header, before decoding); the format is sniffed from the content, never
the file name; nothing from a request ever becomes a file-system path. Every error is
``{"error": "..."}`` with the right status. Responses carry ``X-Content-Type-Options: nosniff`` and a
Content-Security-Policy the page and the in-browser model work under; CORS is off unless origins are
given; ``/api/*`` can require an API key. ``/metrics`` speaks Prometheus; each request writes one JSON
access-log line (never image content).
"""

from __future__ import annotations

import hmac
import json
import logging
import mimetypes
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from agegender import __version__
from agegender.imaging import sniff
from agegender.web.pool import PoolBusy, PoolTimeout, PredictorPool, PredictorSpec, WorkerFailed

STATIC = Path(__file__).parent / "static"
WASM = STATIC / "ort" / "ort-wasm-simd-threaded.wasm.gz"
mimetypes.add_type("text/javascript", ".mjs")  # onnxruntime-web's ES module (not known to every Python)
MAX_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
#: What the page may load and run: its own files, WebAssembly (onnxruntime-web), blob: images.
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' blob: data:; "
       "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
#: FastAPI's /docs page loads Swagger UI from its CDN.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
            "object-src 'none'; frame-ancestors 'none'")
API_KEY_HEADER = "x-api-key"
access_log = logging.getLogger("agegender.access")


@dataclass
class ServerSettings:
    """Every limit of the server (``agegender serve --help`` lists them)."""

    max_bytes: int = MAX_BYTES
    max_pixels: int = MAX_PIXELS
    workers: int = 1
    queue_size: int = 16              # requests waiting for a worker before 503
    timeout: float = 30.0             # seconds per request, waiting included, before 504
    retry_after: int = 2              # seconds, in the 503's Retry-After
    api_key: str | None = None        # required (X-API-Key or Authorization: Bearer) on /api/* when set
    cors_origins: list[str] = field(default_factory=list)


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class UploadCap:
    """Pure ASGI, on the upload route: refuse at once when the pool could not take the request (503,
    before its body is read: refusing must stay cheap under overload), and refuse a body over
    ``max_bytes`` — a declared Content-Length at once, a chunked one as soon as the bytes read pass
    the cap (the rest is never read or spooled)."""

    def __init__(self, app, max_bytes: int, busy=None, paths: tuple[str, ...] = ("/api/predict", "/api/preview")):
        self.app, self.max_bytes, self.busy, self.paths = app, max_bytes, busy, paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in self.paths:
            return await self.app(scope, receive, send)
        if self.busy is not None and scope["method"] == "POST" and (refusal := self.busy()) is not None:
            return await refusal(scope, receive, send)
        too_large = f"file too large: over {self.max_bytes / (1024 * 1024):g} MB"
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes + 64 * 1024:  # multipart overhead allowed
            return await _error(413, too_large, {"Connection": "close"})(scope, receive, send)
        seen = 0

        async def capped():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes + 64 * 1024:
                    # FastAPI re-raises it from the form parser; "close" stops uvicorn reading the rest
                    raise HTTPException(413, too_large, headers={"Connection": "close"})
            return message

        await self.app(scope, capped, send)


class Observe:
    """Pure ASGI, around every request: the API key on ``/api/*``, Prometheus counts and latency, and one
    JSON access-log line (method, path, status, time, sizes, faces — never image content)."""

    ROUTES = ("/api/predict", "/api/preview", "/health", "/ready", "/metrics", "/")

    def __init__(self, app, api_key: str | None, metrics: dict):
        self.app, self.api_key, self.m = app, api_key, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        path = scope["path"]
        status = [500]

        async def send_status(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        headers = dict(scope["headers"])
        if self.api_key and path.startswith("/api/") and not _authorised(headers, self.api_key):
            await _error(401, "missing or wrong API key (send it as X-API-Key or Authorization: Bearer)",
                         {"WWW-Authenticate": "Bearer"})(scope, receive, send_status)
        else:
            await self.app(scope, receive, send_status)
        seconds = time.perf_counter() - t0
        route = path if path in self.ROUTES else "other"
        self.m["requests"].labels(route, str(status[0])).inc()
        if route == "/api/predict":
            self.m["latency"].labels(str(status[0])).observe(seconds)
        declared = headers.get(b"content-length", b"")
        client = scope.get("client")
        access_log.info(json.dumps({
            "time": round(time.time(), 3), "client": client[0] if client else None, "method": scope["method"],
            "path": path[:200], "status": status[0], "ms": round(1000 * seconds, 1),
            "bytes_in": int(declared) if declared.isdigit() else None, "faces": scope.get("state", {}).get("faces")}))


class SecurityHeaders:
    """Pure ASGI: nosniff, the CSP (a looser one for /docs) and friends on every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        csp = DOCS_CSP if scope["path"] in ("/docs", "/redoc") else CSP

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"content-security-policy", csp.encode()),
                            (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def _metrics():
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    reg = CollectorRegistry()
    return reg, {
        "requests": Counter("agegender_requests", "HTTP requests by route and status", ["route", "status"], registry=reg),
        "latency": Histogram("agegender_request_seconds", "time to answer /api/predict", ["status"], registry=reg,
                             buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)),
        "queue": Gauge("agegender_queue_length", "requests waiting for a predictor worker", registry=reg),
        "busy": Gauge("agegender_workers_busy", "predictor workers predicting now", registry=reg),
        "workers": Gauge("agegender_workers", "predictor workers", registry=reg),
        "faces": Counter("agegender_faces", "faces answered", registry=reg),
        "undefined": Counter("agegender_undefined_faces", "faces answered Undefined", registry=reg),
        "images": Counter("agegender_images", "images answered (with or without a face)", registry=reg),
    }


def create_app(spec: PredictorSpec | None = None, settings: ServerSettings | None = None) -> FastAPI:
    """The app; its predictor workers start with the app (lifespan) and stop with it."""
    from agegender.web.device import ServedModel, device_files, device_settings

    spec = spec or PredictorSpec()
    settings = settings or ServerSettings()
    spec.max_pixels = settings.max_pixels
    served = ServedModel.from_dir(spec.model_dir(), spec.detect_size, settings.max_pixels, spec.small_faces)
    pool = PredictorPool(spec, settings.workers, settings.queue_size, settings.timeout)
    registry, m = _metrics()
    m["workers"].set(settings.workers)
    busy_message = (f"busy: all {settings.workers} predictor(s) are working and {settings.queue_size} request(s) "
                    "are waiting; retry shortly")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from agegender.web.server import install_throttle

        install_throttle()  # after uvicorn configured its loggers
        await pool.start()
        yield
        await pool.stop()

    app = FastAPI(title="agegender", version=__version__, lifespan=lifespan,
                  description="Age group (8 Adience groups) and gender of every face in an image, or Undefined with the reason.")
    app.state.pool = pool

    # ---- errors: one shape everywhere
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return _error(exc.status_code, detail, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors())
        if any(e.get("loc", ())[-1:] == ("file",) for e in exc.errors()):
            problems = "no image: send it as the multipart form field 'file'"
        return _error(422, f"invalid request ({problems})")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        logging.getLogger("agegender.server").exception("internal error")
        return _error(500, "internal server error")

    @app.get("/health")
    def health() -> dict:
        """Liveness: answers at once, whatever the load."""
        return {"status": "ok", "version": __version__, "model": served.model_dir.name,
                "thresholds": {k: served.metadata["thresholds"][k] for k in ("age", "gender")}}

    @app.get("/ready")
    def ready() -> JSONResponse:
        """Readiness: 200 once every predictor worker has loaded its model, 503 before."""
        up = sum(w.ready for w in pool.workers)
        body = {"ready": pool.ready, "workers": settings.workers, "workers_ready": up}
        return JSONResponse(body, status_code=200 if pool.ready else 503)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        m["queue"].set(pool.waiting)
        m["busy"].set(pool.busy)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def in_pool(file: UploadFile, job, what: str) -> dict:
        """The upload checked (empty, not an image) and handed to a worker; its failures as HTTP errors."""
        data = await file.read()  # at most the cap: UploadCap stopped anything larger while it was read
        if not data:
            raise HTTPException(400, "empty upload")
        if sniff(data) is None and not data.startswith(b"BZh"):
            raise HTTPException(415, "not a supported image (JPEG, PNG, HEIC, AVIF, WebP, GIF, BMP, TIFF or PPM expected)")
        try:
            result = await job(data)
        except PoolBusy:
            raise HTTPException(503, busy_message, headers={"Retry-After": str(settings.retry_after)}) from None
        except PoolTimeout:
            raise HTTPException(504, f"no answer within the server's {settings.timeout:g} s limit; "
                                "try a smaller photo or retry later") from None
        except WorkerFailed:
            raise HTTPException(500, f"the {what} failed (its worker was restarted); please retry") from None
        if result["error"]:
            status = 413 if "too large" in result["error"] else 422
            raise HTTPException(status, result["error"])
        return result

    @app.post("/api/predict")
    async def predict(request: Request, file: UploadFile = File(..., description="an image (JPEG, PNG, HEIC, WebP, …)")) -> JSONResponse:
        result = await in_pool(file, pool.predict, "prediction")
        faces = result["faces"]
        request.state.faces = len(faces)
        m["images"].inc()
        m["faces"].inc(len(faces))
        m["undefined"].inc(sum(f["undefined"] for f in faces))
        return JSONResponse(result)

    @app.post("/api/preview", response_class=Response,
              responses={200: {"content": {"image/jpeg": {}}, "description": "the photo, upright, as a JPEG"}})
    async def preview(file: UploadFile = File(..., description="an image (JPEG, PNG, HEIC, WebP, …)")) -> Response:
        """The photo as the server reads it — upright by its EXIF turn, at most 1,280 px — as a JPEG, for a
        browser that cannot show the original (an iPhone's HEIC outside Safari) to draw the answers on."""
        result = await in_pool(file, pool.preview, "preview")
        return Response(result["jpeg"], media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/sw.js", include_in_schema=False)
    def service_worker() -> FileResponse:
        # served from the root so that its scope covers the whole app
        return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    # ---- the in-browser (offline) path: onnxruntime-web and the models it runs (web/device.py)
    files = device_files(served)
    device = device_settings(served, files)

    @app.get("/models/device.json", include_in_schema=False)
    def device_json() -> JSONResponse:
        return JSONResponse(device, headers={"Cache-Control": "no-cache"})

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
    def refuse_when_full():
        if not pool.full:
            return None
        return _error(503, busy_message, {"Retry-After": str(settings.retry_after), "Connection": "close"})

    app.add_middleware(UploadCap, max_bytes=settings.max_bytes, busy=refuse_when_full)
    app.add_middleware(Observe, api_key=settings.api_key, metrics=m)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "X-API-Key", "Authorization"])
    app.add_middleware(SecurityHeaders)
    return app


def _authorised(headers: dict[bytes, bytes], key: str) -> bool:
    given = headers.get(API_KEY_HEADER.encode(), b"").decode("latin-1")
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if not given and auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    return hmac.compare_digest(given.encode(), key.encode())
