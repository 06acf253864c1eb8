"""`agegender serve`: the web app (JSON API + phone-friendly page) on uvicorn."""

from __future__ import annotations

from agegender.cli.common import CliError, add_predictor_args, load_predictor


def cmd_serve(args) -> int:
    try:
        import uvicorn

        from agegender.web.app import create_app
    except ImportError as e:
        raise CliError(f"the web app needs the web extra (pip install 'agegender[web]'): {e}") from None
    app = create_app(load_predictor(args), max_bytes=args.max_mb * 1024 * 1024, max_pixels=args.max_pixels)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning" if args.quiet else "info")
    return 0


def register(sub) -> None:
    s = sub.add_parser("serve", help="web app: JSON API (POST /api/predict), health, OpenAPI docs, and a page",
                       description="Serve the predictor over HTTP: / (page), /api/predict, /health, /docs (OpenAPI).")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    s.add_argument("--port", type=int, default=8000)
    add_predictor_args(s, "the fast built-in model (also a smaller download for the phone)")
    s.add_argument("--max-mb", type=int, default=15, help="upload size cap in MB (default: %(default)s)")
    s.add_argument("--max-pixels", type=int, default=40_000_000, help="image pixel limit (default: %(default)s)")
    s.add_argument("--quiet", action="store_true", help="only warnings in the server log")
    s.set_defaults(func=cmd_serve)
