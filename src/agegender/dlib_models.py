"""dlib and the model files of ``face-recognition-models`` (dlib's 5-point shape predictor, its face
embedding network): loaded once per process, found without ``pkg_resources``."""

from __future__ import annotations

from functools import cache


@cache
def load_dlib():
    """The ``dlib`` module, imported on first use (prediction paths that never touch dlib do not load it)."""
    import dlib

    return dlib


def dlib_model_file(name: str) -> str:
    """Path of a model file shipped in ``face-recognition-models``.

    Found without importing that package: its ``__init__`` needs ``pkg_resources``, which recent
    setuptools no longer provide.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("face-recognition-models is not installed (pip install face-recognition-models)")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file missing from face-recognition-models")
    return str(path)


@cache
def shape_predictor():
    """dlib's 5-point shape predictor (CC0), how the training crops are aligned."""
    return load_dlib().shape_predictor(dlib_model_file("shape_predictor_5_face_landmarks.dat"))

