"""`agegender serve`: the web app (JSON API + phone-friendly page) on uvicorn."""

from __future__ import annotations

from agegender.cli.common import CliError
from agegender.faces import LANDMARKS


def cmd_serve(args) -> int:
    try:
        import uvicorn

        from agegender.web.app import create_app
    except ImportError as e:
        raise CliError(f"the web app needs the web extra (pip install 'agegender[web]'): {e}") from None
    from agegender.predictor import Predictor

    kw = {"detector": args.detector, "threads": args.threads, "detect_size": args.detect_size, "landmarks": args.landmarks}
    if args.model:
        pred = Predictor.load(args.model, **kw)
    else:
        pred = Predictor.fast(**kw) if args.fast else Predictor.default(**kw)
    app = create_app(pred, max_bytes=args.max_mb * 1024 * 1024, max_pixels=args.max_pixels)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning" if args.quiet else "info")
    return 0


def register(sub) -> None:
    from agegender.faces import DETECTORS

    s = sub.add_parser("serve", help="web app: JSON API (POST /api/predict), health, OpenAPI docs, and a page",
                       description="Serve the predictor over HTTP: / (page), /api/predict, /health, /docs (OpenAPI).")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--model", help="model artifact folder (default: the built-in model)")
    s.add_argument("--fast", action="store_true", help="the fast built-in model (also a smaller download for the phone)")
    s.add_argument("--detector", choices=DETECTORS, default="retinaface")
    s.add_argument("--max-mb", type=int, default=15, help="upload size cap in MB (default: %(default)s)")
    s.add_argument("--max-pixels", type=int, default=40_000_000, help="image pixel limit (default: %(default)s)")
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--landmarks", choices=LANDMARKS, help="override the model's alignment: retina5 = RetinaFace's "
                    "own landmarks, as the in-browser app aligns (default: what the model was trained with)")
    s.add_argument("--detect-size", type=int, metavar="PX", help="longer side of the copy the detector sees "
                    "(default: 640 for RetinaFace; 320 is ~2x faster but finds fewer small faces: docs/MODEL.md)")
    s.add_argument("--quiet", action="store_true", help="only warnings in the server log")
    s.set_defaults(func=cmd_serve)
