"""Pieces every command module shares: the error type, manifest output, config arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

from agegender.faces import DETECTORS  # noqa: F401  (re-exported for the command modules)


class CliError(Exception):
    """An error to print as one clear line (no traceback) with exit code 2."""




def finish_manifest(manifest, args) -> int:
    from agegender import manifest as mf

    print(mf.report(manifest, args.format))
    if getattr(args, "check_images", False):
        missing = manifest.check_images()
        print(f"images: {len(manifest) - len(missing)} found, {len(missing)} missing"
              + (f" (e.g. {missing[0].full_path})" if missing else ""))
    if args.out:
        out = mf.write(manifest, args.out)
        print(f"wrote {out} and {mf.summary_path(out)}")
    return 0



def add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", help="TOML config (see configs/); defaults for anything it leaves out")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. --set train.epochs=20")
    p.add_argument("--manifest", help="shortcut for --set data.manifest=…")
    p.add_argument("--features", help="shortcut for --set data.features=… (comma-separated .npz files)")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")


def add_manifest_output(p: argparse.ArgumentParser, check: bool = True) -> None:
    p.add_argument("--out", metavar="FILE", help="write the manifest here (.csv or .parquet) plus FILE.summary.json")
    p.add_argument("--format", choices=("text", "markdown", "csv"), default="text", help="breakdown table style")
    if check:
        p.add_argument("--check-images", action="store_true", help="report which image files exist and which are missing")



def default_photo() -> Path:
    """The bundled public-domain test photo (NASA astronaut portrait, from scikit-image)."""
    return Path(__file__).resolve().parent.parent / "data" / "astronaut.jpg"
