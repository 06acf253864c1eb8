"""Shared test helpers: where the fixtures and the optional ../shared data live."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(os.environ.get("AGEGENDER_SHARED", ROOT.parent / "shared"))


def _adience_folds() -> Path:
    """The small hand-written Adience-format fold files, under the names the loader expects.

    They are committed as ``fixtures/adience-folds/fold_<k>.tsv`` (not under Adience's own file
    names, so they cannot be mistaken for the real label files) and copied byte for byte, CRLF
    included, into a temporary ``fold_<k>_data.txt`` folder for the session.
    """
    out = Path(tempfile.mkdtemp(prefix="agegender-adience-folds-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    for src in sorted((FIXTURES / "adience-folds").glob("fold_*.tsv")):
        shutil.copyfile(src, out / f"{src.stem}_data.txt")
    return out


ADIENCE_FOLDS = _adience_folds()


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test cleanly when that data is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs {p} (../shared is not present in a fresh clone)")
    return p


@pytest.fixture(scope="session")
def astronaut():
    """The bundled public-domain NASA portrait (one face) as an RGB array."""
    from agegender.cli import default_photo
    from agegender.imaging import load_image

    return load_image(default_photo())


@pytest.fixture(scope="session")
def phone_photo(astronaut):
    """``make(scale, size)``: the portrait shrunk by ``scale`` (its face ~95 px × scale wide) three times
    side by side on a ``size`` canvas — a group a few metres from a phone's camera."""
    from PIL import Image

    def make(scale: float, size: tuple[int, int] = (4032, 3024)) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
        small = Image.fromarray(astronaut).resize((round(512 * scale), round(512 * scale)), Image.BILINEAR)
        canvas = Image.new("RGB", size, (120, 130, 110))
        spots = []
        for k in range(3):
            x, y = size[0] // 10 + k * size[0] // 3, size[1] // 2
            canvas.paste(small, (x, y))
            spots.append((x, y, x + small.width, y + small.height))
        return np.asarray(canvas), spots

    return make


@pytest.fixture(scope="session")
def retina():
    from agegender.faces import FacePipeline

    return FacePipeline("retinaface")


@pytest.fixture(scope="session")
def utk_named_faces(tmp_path_factory, astronaut):
    """40 real-face crops (jittered crops of the bundled portrait) named like UTKFace files,
    8 age groups × 2 genders (labels arbitrary: for exercising pipelines, not for accuracy)."""
    import numpy as np
    from PIL import Image

    d = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(0)
    ages = [1, 5, 10, 18, 28, 40, 50, 65]
    for i in range(40):
        x, y, s = 150 + int(rng.integers(-10, 10)), 40 + int(rng.integers(-10, 10)), 150 + int(rng.integers(-15, 15))
        crop = Image.fromarray(astronaut[y:y + s, x:x + s]).resize((200, 200))
        crop.save(d / f"{ages[i % 8]}_{i % 2}_0_20170101{i:09d}.jpg.chip.jpg", quality=90)
    return d


def _dlibtail_run(d, faces, extractor: str):
    """A dlibtail model on dlibtrunk + ``extractor`` (for a map extractor, that network's last stage is fine-tuned
    too), with views, trained one epoch on the 40 named faces and exported to ONNX: ``d/run``."""
    from agegender.cli import main

    assert main(["data", "utkface", str(faces), "--out", str(d / "m.csv")]) == 0
    for ex in ("dlibtrunk", extractor):
        assert main(["features", str(d / "m.csv"), "--extractor", ex, "--out", str(d / f"{ex}.npz"), "--quiet"]) == 0
        assert main(["features", str(d / "m.csv"), "--extractor", ex, "--detector", "retinaface", "--landmarks", "retina5",
                     "--out", str(d / f"{ex}-r5.npz"), "--quiet"]) == 0
    assert main(["train", "configs/dlibtail.toml", "--manifest", str(d / "m.csv"), "--features",
                 f"{d / 'dlibtrunk.npz'},{d / f'{extractor}.npz'}", "--views", f"{d / 'dlibtrunk-r5.npz'},{d / f'{extractor}-r5.npz'}",
                 "--set", "data.protocol=\"all\"", "--set", "data.val_fraction=0.25",
                 "--set", "train.epochs=1", "--set", "model.hidden=[16]", "--out", str(d / "run"), "--quiet"]) == 0
    assert main(["export", str(d / "run"), "--format", "onnx"]) == 0
    return d


@pytest.fixture(scope="session")
def faceresmap_run(tmp_path_factory, utk_named_faces):
    """A dlibtail model that fine-tunes faceres-deep's last block too: ``DIR/run`` (features in ``DIR``)."""
    return _dlibtail_run(tmp_path_factory.mktemp("maptail"), utk_named_faces, "faceresmap")


@pytest.fixture(scope="session")
def agnetmap_run(tmp_path_factory, utk_named_faces):
    """A dlibtail model that fine-tunes the age network's last stage too: ``DIR/run`` (features in ``DIR``)."""
    return _dlibtail_run(tmp_path_factory.mktemp("agnetmap"), utk_named_faces, "agnetmap")


@pytest.fixture(scope="session")
def faceres160_run(tmp_path_factory, utk_named_faces):
    """A dlibtail model on dlibtrunk + faceres-deep reading 160 px chips: ``DIR/run`` (features in ``DIR``)."""
    return _dlibtail_run(tmp_path_factory.mktemp("faceres160"), utk_named_faces, "faceres160")


@pytest.fixture(scope="session")
def agnettail_run(tmp_path_factory, utk_named_faces):
    """The fast model's recipe (configs/agnettail.toml: the age network's last stage fine-tuned, no dlib),
    trained one epoch on the 40 named faces and exported to ONNX: ``DIR/run`` (features in ``DIR``)."""
    from agegender.cli import main

    d = tmp_path_factory.mktemp("agnettail")
    assert main(["data", "utkface", str(utk_named_faces), "--out", str(d / "m.csv")]) == 0
    assert main(["features", str(d / "m.csv"), "--extractor", "agnetmap", "--out", str(d / "agnetmap.npz"), "--quiet"]) == 0
    assert main(["train", "configs/agnettail.toml", "--manifest", str(d / "m.csv"), "--features", str(d / "agnetmap.npz"),
                 "--set", "data.protocol=\"all\"", "--set", "data.val_fraction=0.25", "--set", "train.epochs=1",
                 "--set", "model.hidden=[16]", "--out", str(d / "run"), "--quiet"]) == 0
    assert main(["export", str(d / "run"), "--format", "onnx"]) == 0
    return d


@pytest.fixture(scope="session")
def trunk64_run(tmp_path_factory, utk_named_faces):
    """A dlibtail model that fine-tunes dlib's last two stages (dlibtrunk64 + agnet), trained one epoch on
    the 40 named faces and exported to ONNX: ``DIR/run`` (features in ``DIR``)."""
    from agegender.cli import main

    d = tmp_path_factory.mktemp("trunk64")
    assert main(["data", "utkface", str(utk_named_faces), "--out", str(d / "m.csv")]) == 0
    for ex in ("dlibtrunk64", "agnet"):
        assert main(["features", str(d / "m.csv"), "--extractor", ex, "--out", str(d / f"{ex}.npz"), "--quiet"]) == 0
    assert main(["train", "configs/dlibtail.toml", "--manifest", str(d / "m.csv"), "--features",
                 f"{d / 'dlibtrunk64.npz'},{d / 'agnet.npz'}", "--set", "data.protocol=\"all\"", "--set", "data.val_fraction=0.25",
                 "--set", "train.epochs=1", "--set", "model.hidden=[16]", "--set", "train.learning_rate=1e-3",
                 "--out", str(d / "run"), "--quiet"]) == 0
    assert main(["export", str(d / "run"), "--format", "onnx"]) == 0
    return d
