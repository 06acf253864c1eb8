"""The ``agegender`` command line: a thin layer over the library (argparse subcommands)."""

from __future__ import annotations

import argparse
import sys

from agegender import __version__


class CliError(Exception):
    """An error to print as one clear line (no traceback) with exit code 2."""


# --------------------------------------------------------------------------- data

def _finish_manifest(manifest, args) -> int:
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


def cmd_data_adience(args) -> int:
    from agegender.datasets import adience

    m = adience.load(args.folds, mode=args.mode, layout=args.layout, images_root=args.images)
    code = _finish_manifest(m, args)
    if args.lists:
        print("\n".join(adience.compare_fold_lists(m, args.lists).lines()))
    return code


def cmd_data_utkface(args) -> int:
    from agegender.datasets import utkface

    return _finish_manifest(utkface.load(args.root), args)


def cmd_data_gender_folders(args) -> int:
    from agegender.datasets import gender_folders

    return _finish_manifest(gender_folders.load(args.root, source=args.source), args)


def cmd_data_stats(args) -> int:
    from agegender import manifest as mf

    m = mf.read(args.manifest)
    if args.root:
        m = m.with_root(args.root)
    return _finish_manifest(m, args)


def _add_manifest_output(p: argparse.ArgumentParser, check: bool = True) -> None:
    p.add_argument("--out", metavar="FILE", help="write the manifest here (.csv or .parquet) plus FILE.summary.json")
    p.add_argument("--format", choices=("text", "markdown", "csv"), default="text", help="breakdown table style")
    if check:
        p.add_argument("--check-images", action="store_true", help="report which image files exist and which are missing")


# --------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="agegender",
        description="Age group (8 Adience groups) and gender of faces, in one step.",
    )
    p.add_argument("--version", action="version", version=f"agegender {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    data = sub.add_parser("data", help="build and inspect unified dataset manifests")
    dsub = data.add_subparsers(dest="data_command", metavar="SOURCE", required=True)

    a = dsub.add_parser(
        "adience",
        help="Adience fold files → unified dataset",
        description="Read Adience fold_{0..4}_data.txt and build the unified dataset (strict: 16,156 images).",
    )
    a.add_argument("folds", help="folder holding fold_0_data.txt … fold_4_data.txt (or the download's Folds/)")
    a.add_argument("--mode", choices=("strict", "lenient"), default="strict",
                   help="strict: the 8 standard groups only (benchmark); lenient: also map odd age strings (training only)")
    a.add_argument("--layout", choices=("aligned", "faces"), default="aligned", help="which image layout the paths point to")
    a.add_argument("--images", metavar="ROOT", help="Adience image root holding aligned/ and faces/")
    a.add_argument("--lists", metavar="DIR", help="also read train_val_txt_files_per_fold and report disagreements")
    _add_manifest_output(a)
    a.set_defaults(func=cmd_data_adience)

    u = dsub.add_parser("utkface", help="UTKFace images (labels from file names) → manifest")
    u.add_argument("root", help="folder of UTKFace images (searched recursively)")
    _add_manifest_output(u)
    u.set_defaults(func=cmd_data_utkface)

    g = dsub.add_parser("gender-folders", help="<root>/male, <root>/female images (gender only) → manifest")
    g.add_argument("root", help="folder holding male/ and female/")
    g.add_argument("--source", help="source name stored in the manifest (default: the folder name)")
    _add_manifest_output(g)
    g.set_defaults(func=cmd_data_gender_folders)

    s = dsub.add_parser("stats", help="breakdown table of a manifest")
    s.add_argument("manifest", help="a manifest file (.csv or .parquet)")
    s.add_argument("--root", help="resolve image paths against this folder (with --check-images)")
    _add_manifest_output(s)
    s.set_defaults(func=cmd_data_stats)

    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, FileNotFoundError, ValueError, OSError) as e:
        print(f"agegender: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("agegender: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
