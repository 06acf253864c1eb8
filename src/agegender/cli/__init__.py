"""The ``agegender`` command line: a thin layer over the library, one module per command group."""

from __future__ import annotations

import argparse
import sys

from agegender import __version__
from agegender.cli import bench, data, features, learn, predict, serve
from agegender.cli.common import CliError, default_photo

__all__ = ["build_parser", "default_photo", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="agegender",
        description="Age group (8 Adience groups) and gender of faces, in one step.",
    )
    p.add_argument("--version", action="version", version=f"agegender {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (data, features, learn, predict, serve, bench):
        module.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, FileNotFoundError, FileExistsError, ValueError, OSError) as e:
        print(f"agegender: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("agegender: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
