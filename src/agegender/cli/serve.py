"""`agegender serve`: the web app (JSON API + phone-friendly page) on uvicorn, with its limits."""

from __future__ import annotations

import os

from agegender.cli.common import CliError, add_predictor_args, bounded, predictor_spec


def cmd_serve(args) -> int:
    try:
        import uvicorn

        from agegender.web.app import ServerSettings, create_app
        from agegender.web.server import (
            ConnectionLimits,
            accept_backlog,
            effective_max_connections,
            guarded_protocol,
            raise_fd_limit,
        )
    except ImportError as e:
        raise CliError(f"the web app needs the web extra (pip install 'agegender[web]'): {e}") from None
    from agegender.resources import usable_cores

    if args.model and args.fast:
        raise CliError("give either --model or --fast, not both")
    spec = predictor_spec(args)
    api_key = args.api_key or os.environ.get("AGEGENDER_API_KEY") or None
    settings = ServerSettings(max_bytes=args.max_mb * 1024 * 1024, max_pixels=args.max_pixels,
                              workers=args.workers or usable_cores(), queue_size=args.queue, timeout=args.timeout,
                              api_key=api_key, cors_origins=args.cors_origin or [])
    fds = raise_fd_limit()
    limits = ConnectionLimits(header_timeout=args.header_timeout, body_timeout=args.body_timeout,
                              max_connections=effective_max_connections(args.max_connections, fds))
    _setup_logs(access=not args.no_access_log)
    app = create_app(spec, settings)
    if not args.quiet:
        print(f"agegender serve: {settings.workers} predictor worker(s), queue {settings.queue_size}, "
              f"{settings.timeout:g} s per request, up to {limits.max_connections} connections"
              + (", API key required on /api/*" if api_key else ""), flush=True)
    uvicorn.run(app, host=args.host, port=args.port, http=guarded_protocol(limits), access_log=False,
                log_level="warning" if args.quiet else "info", timeout_keep_alive=5, backlog=accept_backlog(fds))
    return 0


def _setup_logs(access: bool) -> None:
    """JSON access lines (``agegender.access``) and the server's own warnings, on stderr."""
    import logging
    import sys

    for name, level, fmt in (("agegender.access", logging.INFO if access else logging.CRITICAL, "%(message)s"),
                             ("agegender.server", logging.WARNING, "agegender: %(levelname)s: %(message)s")):
        log = logging.getLogger(name)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(fmt))
        log.handlers[:] = [handler]
        log.setLevel(level)
        log.propagate = False


def register(sub) -> None:
    s = sub.add_parser("serve", help="web app: JSON API (POST /api/predict), health, metrics, OpenAPI docs, and a page",
                       description="Serve the predictor over HTTP: / (page), /api/predict, /health (liveness), /ready "
                       "(models loaded), /metrics (Prometheus), /docs (OpenAPI). Predictions run in worker processes "
                       "behind a bounded queue; every limit below is enforced per request or per connection.")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    s.add_argument("--port", type=bounded(1, 65535), default=8000)
    add_predictor_args(s, "the fast built-in model (also a smaller download for the phone)")
    s.add_argument("--workers", type=bounded(1, 256), default=None,
                   help="predictor processes, each with its own model (default: the usable cores)")
    s.add_argument("--queue", type=bounded(0, 100_000), default=16,
                   help="requests that may wait for a free worker; beyond that: 503 + Retry-After at once (default: %(default)s)")
    s.add_argument("--timeout", type=bounded(0.1, 3600, float), default=30.0,
                   help="seconds per prediction request, waiting included; beyond that: 504 (default: %(default)s)")
    s.add_argument("--max-mb", type=bounded(1, 1024), default=15, help="upload size cap in MB (default: %(default)s)")
    s.add_argument("--max-pixels", type=bounded(1, 2_000_000_000), default=40_000_000,
                   help="image pixel limit, checked from the header before decoding (default: %(default)s)")
    s.add_argument("--header-timeout", type=bounded(0.1, 600, float), default=10.0,
                   help="seconds a client may take to send a request's headers (default: %(default)s)")
    s.add_argument("--body-timeout", type=bounded(0.1, 3600, float), default=60.0,
                   help="seconds a client may take to send a request's body (default: %(default)s)")
    s.add_argument("--max-connections", type=bounded(8, 1_000_000), default=1000,
                   help="open client connections; lowered to fit the open-file limit (default: %(default)s)")
    s.add_argument("--api-key", help="require this key on /api/* (X-API-Key or Authorization: Bearer); "
                   "also read from AGEGENDER_API_KEY")
    s.add_argument("--cors-origin", action="append", metavar="ORIGIN",
                   help="allow cross-origin requests from ORIGIN (repeatable; default: none, CORS off)")
    s.add_argument("--no-access-log", action="store_true", help="no JSON access-log line per request (stderr)")
    s.add_argument("--quiet", action="store_true", help="only warnings in uvicorn's log")
    s.set_defaults(func=cmd_serve)
