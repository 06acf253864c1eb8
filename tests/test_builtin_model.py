"""The built-in models shipped in the package, and the framework-free runtime."""

import json
import subprocess
import sys

import pytest

from agegender.cli import default_photo
from agegender.predictor import DEFAULT_MODEL, FAST_MODEL, Predictor


@pytest.mark.parametrize("model_dir", [DEFAULT_MODEL, FAST_MODEL], ids=["default", "fast"])
def test_builtin_model_reads_the_astronaut(model_dir):
    p = Predictor.load(model_dir)
    res = p.predict(default_photo())
    assert res.ok and len(res.faces) == 1
    a = res.faces[0].answer
    assert a.best_gender == 1                    # Eileen Collins: female
    assert 3 <= a.best_age <= 6                  # an adult (she was 36-ish): 15-20 … 48-53 at worst
    assert a.undefined == (a.reason is not None)
    if model_dir == DEFAULT_MODEL:  # the default has a years head: an age beside the group, with a spread
        assert 25 <= a.years <= 50 and 0 < a.years_spread < 20, (a.years, a.years_spread)
        assert set(p.metadata["age_check"]) == set(p.metadata["labels"]["age_groups"][1:])  # its thresholds travel
    meta = p.metadata
    assert meta["thresholds"]["chosen_on"] == "validation" and "non-commercial" in meta["licence"]
    assert meta["benchmark"]["protocol"] == "utkface-a8" and meta["benchmark"]["folds"] == 5
    size = sum(f.stat().st_size for f in model_dir.iterdir())
    assert size < 24 * 1024 * 1024  # the fine-tuned dlib stage + the dense layers (float16-stored) in ONNX and LiteRT


def test_photos_are_aligned_by_retinafaces_landmarks_unless_told_or_another_detector():
    """retina5 measured better on photos for every model (docs/MODEL.md); crops and HOG boxes keep dlib's."""
    from agegender.predictor import photo_landmarks

    assert Predictor.default().pipeline.landmarks == "retina5"
    assert Predictor.default(landmarks="dlib").pipeline.landmarks == "dlib"
    assert Predictor.fast(detector="aligned").pipeline.landmarks == "dlib"
    assert photo_landmarks("hog", {}) == "dlib"
    trained_on_retina5 = {"preprocessing": {"settings": ["retinaface/retina5"]}}
    assert photo_landmarks("aligned", trained_on_retina5) == "retina5"  # then FacePipeline asks for RetinaFace
    assert photo_landmarks("hog", {"preprocessing": {"settings": ["agnet@3|detector=retinaface/retina5|cutter=2"]}}) == "retina5"
    face = Predictor.default().predict(default_photo()).faces[0]
    assert face.face.shape is None and face.face.unit is not None  # no dlib shape: cut by alignment.cut_chip


def test_default_is_the_accurate_model_and_fast_is_smaller():
    assert Predictor.default().model_dir == DEFAULT_MODEL
    fast = Predictor.fast()
    assert fast.model_dir == FAST_MODEL and fast.metadata["preprocessing"]["extractors"] == ["agnetmap"]


def test_the_fast_model_reads_cached_features_in_any_float_type():
    """Predictor.distributions on agnetmap rows as a cache keeps them (float16, a FeatureMatrix read in chunks)
    gives what it gives on float32 rows (it used to fail: onnxruntime takes float32 arrays only)."""
    import numpy as np

    from agegender.feature_matrix import FeatureMatrix

    fast = Predictor.fast()
    rows = np.random.default_rng(0).normal(size=(5000, 83 + 6272)).astype(np.float16)
    plain = fast.distributions(rows.astype(np.float32))
    for X in (rows, FeatureMatrix([[rows[:, :83], rows[:, 83:]]])):
        age, gender = fast.distributions(X)
        assert age.shape == (5000, 8) and np.allclose(age, plain[0], atol=1e-6) and np.allclose(gender, plain[1], atol=1e-6)


def test_prediction_imports_no_deep_learning_framework():
    code = (
        "import sys; from agegender.predictor import Predictor; from agegender.cli import default_photo; "
        "r = Predictor.default().predict(default_photo()); assert r.faces; "
        "bad = [m for m in ('tensorflow', 'keras', 'torch', 'jax') if m in sys.modules]; "
        "assert not bad, bad; print('ok')"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_cli_main_job(capsys):
    from agegender.cli import main

    for extra in ([], ["--fast"], ["--fast", "--landmarks", "retina5", "--detect-size", "320"]):
        assert main(["predict", str(default_photo()), "--json", "--quiet", *extra]) == 0
        row = json.loads(capsys.readouterr().out)
        assert row["width"] == 512 and len(row["faces"]) == 1 and row["faces"][0]["best_gender"] == "f"


def test_speed_command_prints_its_figures_for_either_alignment(capsys):
    from agegender.cli import main

    for lm in ("dlib", "retina5"):
        assert main(["bench", "predict", "--model", str(FAST_MODEL), "--threads", "1", "--repeat", "1", "--landmarks", lm]) == 0
        out = capsys.readouterr().out
        assert "ms  end to end, the same photo scaled to 448 px" in out and "KiB  model file(s)" in out
    assert main(["bench", "predict", "--model", str(FAST_MODEL), "--threads", "1", "--repeat", "1", "--steps"]) == 0
    out = capsys.readouterr().out  # the fast model's one extractor, step by step
    assert "ms  step: detection + landmarks" in out and "ms  step: agnetmap, network" in out
    with pytest.raises(SystemExit):
        main(["bench", "predict", "--landmarks", "eyes"])


def test_a_false_face_is_answered_undefined_not_sure_it_is_a_face(capsys):
    """A colour wheel shows a false face (tests/test_faces.py): the answer is Undefined, its one reason says the
    face may be none, its text guesses no age or gender (the distributions stay); the JSON carries the second
    look's score; an age check never passes it; the picture itself is not an error."""
    from pathlib import Path

    from agegender.cli import main
    from agegender.detectors import DOUBT_LOOK

    wheel = Path(__file__).parent / "fixtures" / "nobody" / "colorwheel.png"
    res = Predictor.default().predict(wheel)
    (fa,) = res.faces
    assert res.ok and fa.answer.undefined and fa.answer.age is None and fa.answer.gender is None
    assert fa.answer.reason.startswith("not sure it is a face (detector 0.67; a second look ")
    assert fa.answer.reason == fa.face.doubt and "best guess" not in fa.answer.text and "years" not in fa.answer.text
    assert fa.answer.best_age is not None and len(fa.answer.gender_probs) == 2  # the distributions stay
    d = fa.to_dict()
    assert d["second_look"] < DOUBT_LOOK and d["reason"] == fa.answer.reason
    assert main(["predict", str(wheel), "--age-check", "25-32", "--json"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out.splitlines()[0])
    assert out["faces"][0]["age_check"] == "not sure — check ID" and out["faces"][0]["undefined"]
    assert "1 face(s), 1 Undefined (1 maybe no face)" in cap.err
    # the astronaut, sure of her face, is answered as before
    portrait = Predictor.default().predict(default_photo()).faces[0]
    assert portrait.face.second_look is None and not portrait.answer.undefined
