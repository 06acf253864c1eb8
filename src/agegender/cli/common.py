"""Pieces every command module shares: the error type, manifest output, config arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

from agegender.detectors import DETECTORS
from agegender.faces import LANDMARKS


class CliError(Exception):
    """An error to print as one clear line (no traceback) with exit code 2."""


def bounded(lo: float, hi: float | None = None, kind: type = int, what: str = ""):
    """An argparse ``type`` that refuses values outside ``lo..hi`` with a message saying the range."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if value != value or value < lo or (hi is not None and value > hi):  # value != value: NaN
            top = f" and {hi:g}" if hi is not None else ""
            rng = f"between {lo:g}{top}" if hi is not None else f"at least {lo:g}"
            raise argparse.ArgumentTypeError(f"must be {rng}{what}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def threads_arg():
    from agegender.resources import THREADS_PER_CORE, max_threads

    return bounded(1, max_threads(), what=f" ({THREADS_PER_CORE} per usable core)")


def detect_size_arg():
    from agegender.resources import DETECT_SIZE_RANGE

    return bounded(*DETECT_SIZE_RANGE, what=" pixels")


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
    p.add_argument("--views", help="shortcut for --set data.views=…: feature files of the same manifest computed another "
                   "way (e.g. --landmarks retina5), each row training as a copy of its image; several sets ';'-separated")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")


def add_predictor_args(p: argparse.ArgumentParser, fast_help: str) -> None:
    """Which model, and how it finds and aligns faces: shared by `predict` and `serve`."""
    p.add_argument("--model", help="model artifact folder (metadata.json + model.onnx); default: the built-in model")
    p.add_argument("--fast", action="store_true", help=fast_help)
    p.add_argument("--detector", choices=DETECTORS, default="retinaface", help="face detector (default: %(default)s; "
                   "'aligned' for images that are already face crops)")
    p.add_argument("--threads", type=threads_arg(), default=1, help="onnxruntime threads per process (default: %(default)s)")
    p.add_argument("--landmarks", choices=LANDMARKS, help="how faces are aligned: retina5 = RetinaFace's own "
                   "landmarks, as the in-browser app aligns; dlib = dlib's 5-point predictor (default: retina5 with the "
                   "retinaface detector, dlib with the others)")
    p.add_argument("--detect-size", type=detect_size_arg(), metavar="PX", help="longer side of the copy the detector sees "
                   "(default: 640 for RetinaFace; 320 detects ~1.6x faster but finds fewer small faces: docs/MODEL.md)")
    p.add_argument("--flip", action="store_true", help="test-time flip: also read each face as its mirror image and "
                   "average the two answers (a little more accurate, the features cost twice: docs/MODEL.md)")
    p.add_argument("--no-small-faces", dest="small_faces", action="store_false", help="one detection pass only: by default "
                   "a photo over 3x --detect-size (e.g. a phone's 4032 px), or over 1.5x (a messenger's 1600 or 1280 px) when the "
                   "first pass finds no face or a small one, is searched again at 2x that size for faces too small for the first "
                   "pass (~80-100 ms more per such photo on one core: docs/FACES.md)")


def load_predictor(args):
    """The Predictor that :func:`add_predictor_args`' options ask for."""
    from agegender.predictor import Predictor

    kw = {"detector": args.detector, "threads": args.threads, "detect_size": args.detect_size, "landmarks": args.landmarks,
          "flip": args.flip, "small_faces": args.small_faces}
    if args.model:
        return Predictor.load(args.model, **kw)
    return Predictor.fast(**kw) if args.fast else Predictor.default(**kw)


def predictor_spec(args):
    """The same options as a :class:`~agegender.predictor.PredictorSpec`, for worker processes."""
    from agegender.predictor import PredictorSpec

    return PredictorSpec(model=args.model, fast=args.fast, detector=args.detector, threads=args.threads,
                         landmarks=args.landmarks, detect_size=args.detect_size, flip=args.flip, small_faces=args.small_faces)


def add_manifest_output(p: argparse.ArgumentParser, check: bool = True) -> None:
    p.add_argument("--out", metavar="FILE", help="write the manifest here (.csv or .parquet) plus FILE.summary.json")
    p.add_argument("--format", choices=("text", "markdown", "csv"), default="text", help="breakdown table style")
    if check:
        p.add_argument("--check-images", action="store_true", help="report which image files exist and which are missing")



def default_photo() -> Path:
    """The bundled public-domain test photo (NASA astronaut portrait, from scikit-image)."""
    return Path(__file__).resolve().parent.parent / "data" / "astronaut.jpg"
