"""Learned features and calibrated answers (issue #11): dlib's last stage as trainable layers, phone-like
augmented copies that never leak across a split, temperature scaling, thresholds from a target
accuracy, and the age in years — end to end on real face features, through export and the Predictor."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from agegender import augment, labels
from agegender.cli import main
from agegender.manifest import Manifest, Record

pytest.importorskip("keras")


@pytest.mark.parametrize("cut", ["trunk", "trunk64"])
def test_the_keras_tail_reproduces_dlibs_own_network(cut):
    """Before training, dlibtail's layers give what dlib's network gives (its pooled 256 values), from
    either cut: the last stage on ``dlibtrunk``'s map, or the last two on ``dlibtrunk64``'s."""
    import keras
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from agegender.dlib_models import dlib_model_file
    from agegender.features import extractor_dim
    from agegender.features.dlib_embedding import MODEL_FILE
    from agegender.features.dlib_onnx import descriptor_onnx
    from agegender.models.dlibtail import TRUNK_EXTRACTORS, tail

    dim = extractor_dim({c: e for e, c in TRUNK_EXTRACTORS.items()}[cut])
    path = dlib_model_file(MODEL_FILE)
    chips = np.random.default_rng(0).integers(0, 255, (3, 150, 150, 3)).astype(np.float32)
    trunk = ort.InferenceSession(descriptor_onnx(path, cut), providers=["CPUExecutionProvider"]).run(None, {"chips": chips})[0]
    assert trunk.shape == (3, dim)
    full = onnx.load_from_string(descriptor_onnx(path))
    gap = next(n for n in full.graph.node if n.op_type == "GlobalAveragePool")
    full.graph.node.append(helper.make_node("Flatten", [gap.output[0]], ["pooled"]))
    full.graph.output.append(helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["N", 256]))
    pooled = ort.InferenceSession(full.SerializeToString(), providers=["CPUExecutionProvider"]).run(["pooled"], {"chips": chips})[0]
    inp = keras.Input((dim,))
    model = keras.Model(inp, tail(inp, path, cut=cut))
    got = model.predict(trunk, verbose=0)
    assert np.abs(got - pooled).max() < 1e-4 * max(1.0, np.abs(pooled).max())
    assert np.abs(got[0] - got[1]).max() > 1e-3  # two different inputs: not a constant
    convs = [lay.name for lay in model.layers if isinstance(lay, keras.layers.Conv2D)]
    assert len(convs) == 2 * (4 if cut == "trunk" else 7) and "dlibtail_b0_conv1" in convs  # the last stage's names stay


def test_the_keras_faceres_block_reproduces_faceres_deeps_own_network(astronaut):
    """Before training, faceres-deep's last block as Keras layers gives what the shipped network gives
    (its 1,024 pooled activations) from the map before that block — on a real face."""
    import keras
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from agegender.faces import FacePipeline
    from agegender.features.faceres import INPUT, OUTPUTS, FaceResDeep, model_file
    from agegender.models.faceres_tail import MAP_DIM, MAP_OUTPUT, tail

    m = onnx.load(str(model_file()))
    m.graph.output.append(helper.make_tensor_value_info(MAP_OUTPUT, TensorProto.FLOAT, None))
    pipe = FacePipeline("retinaface", landmarks="retina5")
    chip = pipe.chip(astronaut, pipe.faces(astronaut)[0], 224, 0.2, [])
    chips = FaceResDeep.prepare(np.stack([chip, chip[:, ::-1]]))
    pooled, fmap = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        [OUTPUTS[0], MAP_OUTPUT], {INPUT: chips})
    assert fmap.shape == (2, 1024, 7, 7)  # the ONNX graph is NCHW; the block reads (row, column, channel)
    inp = keras.Input((MAP_DIM,))
    got = keras.Model(inp, tail(inp)).predict(fmap.transpose(0, 2, 3, 1).reshape(2, -1), verbose=0)
    assert np.abs(got - pooled).max() < 1e-3 and np.abs(pooled).max() > 0.5
    assert np.abs(got[0] - got[1]).max() > 1e-2  # two different inputs: not a constant


def test_the_keras_age_stage_reproduces_the_age_networks_own_layers(astronaut):
    """Before training, the age network's last stage as Keras layers gives what ``age-v1.onnx`` gives (its
    256 pooled activations) from the ``agnetmap`` extractor's map; its first 83 values are ``agnet``'s."""
    import keras
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from agegender.faces import FacePipeline
    from agegender.features.agnet import age_model_file, flushed_model
    from agegender.features.base import get_extractor
    from agegender.models.agnet_tail import MAP_DIM, tail

    pipe = FacePipeline("retinaface", landmarks="retina5")
    face = pipe.faces(astronaut)[0]
    ex, plain = get_extractor("agnetmap"), get_extractor("agnet")
    chips = [np.stack([c, c[:, ::-1]]) for c in (pipe.chip(astronaut, face, s.size, s.padding, []) for s in ex.chips)]
    values = ex.extract(chips)
    assert values.shape == (2, 83 + MAP_DIM) and ex.dim == 83 + MAP_DIM
    assert np.abs(values[:, :83] - plain.extract(chips)).max() < 1e-5
    m = onnx.load_from_string(flushed_model(age_model_file()))
    m.graph.output.append(helper.make_tensor_value_info("layer_2_global_average_pool", TensorProto.FLOAT, None))
    x = (chips[0].astype(np.float32) - np.array([122.781998, 117.000999, 104.297997], np.float32)) / 256
    pooled = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        ["layer_2_global_average_pool"], {"images": np.ascontiguousarray(x.transpose(0, 3, 1, 2))})[0].reshape(2, -1)
    inp = keras.Input((MAP_DIM,))
    got = keras.Model(inp, tail(inp)).predict(values[:, 83:], verbose=0)
    assert np.abs(got - pooled).max() < 1e-4 and np.abs(pooled).max() > 0.5
    assert np.abs(got[0] - got[1]).max() > 1e-2  # two different inputs: not a constant


@pytest.mark.parametrize("extractor,conv", [("faceresmap", "faceres_tail_pw13"), ("agnetmap", "agnet_tail_layer_6_conv")])
def test_a_dlibtail_model_can_fine_tune_a_networks_last_stage_beside_dlibs(extractor, conv):
    """``map_tail``: the last columns feed that network's last stage; it trains (its weights move)."""
    import keras

    from agegender.config import load
    from agegender.models import build_model
    from agegender.models.build import map_tail_module
    from agegender.models.dlibtail import TRUNK_DIM

    cfg = load("configs/dlibtail.toml")
    rng = np.random.default_rng(0)
    map_dim = map_tail_module(extractor).MAP_DIM
    dim = TRUNK_DIM + 10 + map_dim
    model = build_model(cfg, dim, np.zeros(dim), np.ones(dim), TRUNK_DIM, map_tail=extractor)
    net = extractor.removesuffix("map")
    names = {lay.name for lay in model.layers}
    assert {f"{net}_map", conv, "other", "trunk"} <= names
    other, fmap = model.get_layer("other"), model.get_layer(f"{net}_map")
    assert (other.start, other.stop) == (TRUNK_DIM, TRUNK_DIM + 10) and (fmap.start, fmap.stop) == (TRUNK_DIM + 10, dim)
    before = model.get_layer(conv).get_weights()[0].copy()
    X = np.abs(rng.normal(size=(64, dim))).astype(np.float32)
    y = {"age": np.eye(8)[rng.integers(0, 8, 64)], "gender": np.eye(2)[rng.integers(0, 2, 64)],
         "years": np.full((64, 101), 1 / 101)}
    model.compile(keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    model.fit(X, y, epochs=1, batch_size=32, verbose=0)
    assert np.abs(model.get_layer(conv).get_weights()[0] - before).max() > 1e-5
    with pytest.raises(ValueError, match="no trainable stage"):
        map_tail_module("agnet")

def test_augmented_copies_are_deterministic_and_keep_labels(tmp_path, astronaut):
    Image.fromarray(astronaut).save(tmp_path / "a.jpg")
    rec = Record(path="a.jpg", root=str(tmp_path), source="utkface", key="a.jpg", age_group=4, gender=1, age_years=30.0,
                 race="white")
    m1 = augment.augment(Manifest([rec]), tmp_path / "aug", copies=3, seed=5, progress=False)
    assert len(m1) == 3 and all(augment.is_copy(r) for r in m1.records)
    assert {(r.subject, r.source, r.age_group, r.gender, r.age_years, r.race) for r in m1.records} == {
        ("a.jpg", "utkface-aug", 4, 1, 30.0, "white")}
    images = [np.asarray(Image.open(r.full_path)) for r in m1.records]
    assert all(im.shape == astronaut.shape for im in images)
    assert np.abs(images[0].astype(int) - astronaut).mean() > 3  # really changed
    first = [r.full_path.read_bytes() for r in m1.records]
    for r in m1.records:
        r.full_path.unlink()
    m2 = augment.augment(Manifest([rec]), tmp_path / "aug", copies=3, seed=5, progress=False)
    assert [r.full_path.read_bytes() for r in m2.records] == first  # same seed, same files


def test_shrunk_copies_only_of_larger_images(tmp_path, astronaut, capsys):
    """--shrink: one copy of each image larger than SIDE, SIDE px on its longer side; smaller images get none."""
    Image.fromarray(astronaut).save(tmp_path / "big.png")  # 512 x 512
    Image.fromarray(astronaut[:300, :200]).save(tmp_path / "tall.png")
    Image.fromarray(astronaut[::10, ::10]).save(tmp_path / "small.png")  # 52 x 52
    (tmp_path / "m.csv").write_text("path,source,key,age_group,gender,age_years,race\n"
                                    "big.png,utkface,big,25-32,f,30,white\ntall.png,utkface,tall,25-32,f,30,white\n"
                                    "small.png,utkface,small,25-32,f,30,white\n")
    assert main(["data", "augment", str(tmp_path / "m.csv"), str(tmp_path / "aug"), "--shrink", "64", "--quiet",
                 "--root", str(tmp_path), "--out", str(tmp_path / "low.csv")]) == 0
    from agegender.manifest import read

    m = read(tmp_path / "low.csv")
    assert sorted(r.subject for r in m.records) == ["big", "tall"] and all(augment.is_copy(r) for r in m.records)
    sizes = {r.subject: Image.open(r.full_path).size for r in m.records}
    assert sizes == {"big": (64, 64), "tall": (43, 64)}
    rec = next(r for r in m.records if r.subject == "big")
    assert rec.key == "big#64px" and (rec.age_group, rec.gender, rec.race) == (4, 1, "white")
    assert rec.source == "utkface-64px-aug" and not augment.is_phone_copy(rec)  # trains, but is not a phone-like copy
    small = np.asarray(Image.open(rec.full_path).convert("RGB"), dtype=float)
    expected = np.asarray(Image.fromarray(astronaut).resize((64, 64), Image.BICUBIC), dtype=float)
    assert np.abs(small - expected).mean() < 10  # the whole picture, antialiased (JPEG q75: 7.3; nearest: 14; a crop: 70)
    assert "2 of 3 images shrunk to 64 px" in capsys.readouterr().out + (tmp_path / "low.summary.json").read_text()



def _one_copy_of_a_face(tmp_path, astronaut, flag: str, name: str):
    """``data augment FLAG`` over the portrait and a faceless grey square: the one copy's record (the square
    has no face to copy) and the command's arguments (to run it again)."""
    from agegender.manifest import read

    Image.fromarray(astronaut).save(tmp_path / "face.png")
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(tmp_path / "grey.png")
    (tmp_path / "m.csv").write_text("path,source,key,age_group,gender,age_years,race\n"
                                    "face.png,utkface,face,25-32,f,30,white\ngrey.png,utkface,grey,25-32,f,30,white\n")
    args = ["data", "augment", str(tmp_path / "m.csv"), str(tmp_path / "aug"), flag, "--quiet", "--root", str(tmp_path),
            "--out", str(tmp_path / f"{name}.csv")]
    assert main(args) == 0
    (rec,) = read(tmp_path / f"{name}.csv").records
    assert rec.subject == "face" and rec.source == f"utkface-{name}-aug" and augment.is_copy(rec) and not augment.is_phone_copy(rec)
    return rec, args


def test_tight_copies_cut_the_face_close_and_only_where_there_is_one(tmp_path, astronaut, capsys):
    """--tight: one copy of each image with a face, cut around the eyes within TIGHT_RANGES (little hair or
    background), the same file on a second run; an image without a face gets none."""
    from agegender.detectors import RetinaFaceDetector

    rec, args = _one_copy_of_a_face(tmp_path, astronaut, "--tight", "tight")
    first = rec.full_path.read_bytes()
    crop = np.asarray(Image.open(rec.full_path).convert("RGB"))
    _, _, pts = RetinaFaceDetector().detect(astronaut)[0]
    d = float(np.hypot(*(pts[1] - pts[0])))
    (lo_x, hi_x), _, (lo_r, hi_r), _ = augment.TIGHT_RANGES
    assert (lo_r - hi_x) * d - 2 <= crop.shape[1] <= (hi_r - lo_x) * d + 2  # cheek to cheek, in eye distances
    assert crop.shape[0] < 0.6 * astronaut.shape[0] and RetinaFaceDetector().detect(crop)  # still a face, much less photo
    rec.full_path.unlink()
    assert main(args) == 0 and rec.full_path.read_bytes() == first  # deterministic
    assert "1 of 2 images with their face cut tight" in capsys.readouterr().out + (tmp_path / "tight.summary.json").read_text()


def test_close_up_copies_fill_a_1024_px_frame_with_the_face(tmp_path, astronaut, capsys):
    """--close-up: one copy of each image with a face, a square CLOSE_UP_RANGE eye distances wide around its
    landmarks scaled to 1024 px (a face larger than RetinaFace's anchors: the close-up pass's case), the same
    file on a second run; an image without a face gets none."""
    from agegender.detectors import RetinaFaceDetector

    rec, args = _one_copy_of_a_face(tmp_path, astronaut, "--close-up", "closeup")
    first = rec.full_path.read_bytes()
    im = np.asarray(Image.open(rec.full_path).convert("RGB"))
    assert im.shape == (1024, 1024, 3)
    (_, _, found), = RetinaFaceDetector().detect(im)
    eyes = float(np.hypot(*(found[1] - found[0])))
    lo, hi = augment.CLOSE_UP_RANGE
    assert 1024 / hi - 10 <= eyes <= 1024 / lo + 10  # the square was lo..hi eye distances wide
    rec.full_path.unlink()
    assert main(args) == 0 and rec.full_path.read_bytes() == first  # deterministic
    assert "1 of 2 images with their face as a close-up" in capsys.readouterr().out + (tmp_path / "closeup.summary.json").read_text()


def test_gray_copies_are_grayscale_and_keep_their_labels(tmp_path, astronaut, capsys):
    """--gray: one grayscale copy of every image (its own source, not a phone-like copy); one kind at a time."""
    from agegender.manifest import read

    Image.fromarray(astronaut).save(tmp_path / "a.png")
    (tmp_path / "m.csv").write_text("path,source,key,age_group,gender,age_years,race\na.png,utkface,a,25-32,f,30,white\n")
    args = ["data", "augment", str(tmp_path / "m.csv"), str(tmp_path / "aug"), "--quiet", "--root", str(tmp_path),
            "--out", str(tmp_path / "gray.csv")]
    assert main(args + ["--gray"]) == 0
    (rec,) = read(tmp_path / "gray.csv").records
    assert (rec.subject, rec.source, rec.age_group, rec.gender) == ("a", "utkface-gray-aug", 4, 1)
    assert augment.is_copy(rec) and not augment.is_phone_copy(rec)
    im = np.asarray(Image.open(rec.full_path).convert("RGB")).astype(int)
    assert im.shape == astronaut.shape and np.abs(im[..., 0] - im[..., 2]).max() <= 2  # grey: the channels agree
    luma = np.asarray(Image.fromarray(astronaut).convert("L")).astype(int)
    assert np.abs(im[..., 1] - luma).mean() < 2  # the picture itself, only without colour
    with pytest.raises(SystemExit) as e:  # one kind of copy per run
        main(args + ["--gray", "--tight"])
    assert e.value.code == 2 and "argument --tight: not allowed with argument --gray" in capsys.readouterr().err


def _one_kind_of_copy(tmp_path, flag: str, kind: str, original: np.ndarray):
    """``data augment m.csv aug FLAG KIND`` on the face ``face.png`` (labels 25-32, f): the arguments, the copy's
    record — its own source, a copy but not a phone-like one — and its pixels, in which RetinaFace still finds a face."""
    from agegender.detectors import RetinaFaceDetector
    from agegender.manifest import read

    args = ["data", "augment", str(tmp_path / "m.csv"), str(tmp_path / "aug"), flag, kind, "--quiet",
            "--root", str(tmp_path), "--out", str(tmp_path / f"{kind}.csv")]
    assert main(args) == 0
    (rec,) = read(tmp_path / f"{kind}.csv").records
    assert (rec.subject, rec.source, rec.age_group, rec.gender) == ("face", f"utkface-{kind}-aug", 4, 1)
    assert augment.is_copy(rec) and not augment.is_phone_copy(rec)
    im = np.asarray(Image.open(rec.full_path).convert("RGB"))
    assert im.shape == original.shape and RetinaFaceDetector().detect(im)  # still a face to the photo path
    return args, rec, im


def test_occluded_copies_cover_the_eyes_or_the_mouth_and_keep_the_face_findable(tmp_path, astronaut, capsys):
    """--occlude glasses: dark lenses over both eyes, the mouth untouched; --occlude mask: the nose, mouth and
    chin behind one flat colour, the eyes untouched. Each its own source (not a phone-like copy), the same
    file on a second run, RetinaFace still finds the face; an image without a face gets none."""
    from agegender.detectors import RetinaFaceDetector
    from agegender.manifest import read

    Image.fromarray(astronaut).save(tmp_path / "face.png")
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(tmp_path / "grey.png")
    (tmp_path / "m.csv").write_text("path,source,key,age_group,gender,age_years,race\n"
                                    "face.png,utkface,face,25-32,f,30,white\ngrey.png,utkface,grey,25-32,f,30,white\n")
    _, _, pts = RetinaFaceDetector().detect(astronaut)[0]
    d = float(np.hypot(*(pts[1] - pts[0])))
    mouth = (pts[3] + pts[4]) / 2

    def patch(im: np.ndarray, centre: np.ndarray, r: float) -> np.ndarray:
        x, y = (int(round(v)) for v in centre)
        return im[y - int(r):y + int(r) + 1, x - int(r):x + int(r) + 1].astype(float)

    src = astronaut.astype(float)
    written = {}
    for kind in augment.OCCLUSIONS:
        args, rec, im = _one_kind_of_copy(tmp_path, "--occlude", kind, astronaut)
        eyes = [patch(im, p, 0.12 * d) for p in pts[:2]]
        lips = patch(im, mouth, 0.12 * d)
        if kind == "glasses":
            assert all(e.mean() < 70 for e in eyes)  # behind dark lenses
            assert np.abs(lips - patch(src, mouth, 0.12 * d)).mean() < 4  # the rest of the face as it was
        else:
            assert lips.reshape(-1, 3).std(0).max() < 4 and np.abs(lips - patch(src, mouth, 0.12 * d)).mean() > 20
            assert all(np.abs(e - patch(src, p, 0.12 * d)).mean() < 4 for e, p in zip(eyes, pts[:2]))
        written[rec.source] = rec.full_path.read_bytes()
        rec.full_path.unlink()
        assert main(args) == 0 and rec.full_path.read_bytes() == written[rec.source]  # deterministic
    out = capsys.readouterr().out + (tmp_path / "mask.summary.json").read_text()
    assert "1 of 2 images with their face behind a face mask" in out
    # any: one of the kinds per image, the very file that kind alone writes (so a rerun reuses both)
    assert main(args[:5] + ["any"] + args[6:-1] + [str(tmp_path / "any.csv")]) == 0
    (rec,) = read(tmp_path / "any.csv").records
    assert rec.full_path.read_bytes() == written[rec.source]


def test_restyled_copies_smooth_burn_out_or_shake_the_photo_and_keep_the_face_findable(tmp_path, astronaut):
    """--look beauty: skin texture smoothed away, not darker; overexposed: brighter, highlights clipped at white;
    shake: blurred along a line, as bright as before. Each its own source (not a phone-like copy), the same file
    on a second run, RetinaFace still finds the face; any: one of them per image, the very file that look alone
    writes."""
    import cv2

    from agegender.detectors import RetinaFaceDetector
    from agegender.manifest import read

    Image.fromarray(astronaut).save(tmp_path / "face.png")
    (tmp_path / "m.csv").write_text("path,source,key,age_group,gender,age_years,race\nface.png,utkface,face,25-32,f,30,white\n")
    _, _, pts = RetinaFaceDetector().detect(astronaut)[0]
    r = int(0.15 * np.hypot(*(pts[1] - pts[0])))
    x, y = (int(v) for v in (pts[0] + pts[3]) / 2 - (r, 0))  # the left cheek, between the eye and the mouth
    luma = lambda im: np.asarray(Image.fromarray(im).convert("L"), np.float32)  # noqa: E731
    texture = lambda im: float(cv2.Laplacian(luma(im)[y - r:y + r, x - r:x + r], cv2.CV_32F).var())  # noqa: E731
    written = {}
    for kind in augment.LOOKS:
        args, rec, im = _one_kind_of_copy(tmp_path, "--look", kind, astronaut)
        if kind == "beauty":
            assert texture(im) < 0.5 * texture(astronaut) and luma(im).mean() >= luma(astronaut).mean() - 1
        elif kind == "overexposed":
            assert luma(im).mean() > 1.25 * luma(astronaut).mean() and texture(im) < 0.5 * texture(astronaut)  # burnt out
            assert (im == 255).mean() > (astronaut == 255).mean() + 0.2
        else:
            assert texture(im) < 0.5 * texture(astronaut) and abs(luma(im).mean() - luma(astronaut).mean()) < 2
        written[rec.source] = rec.full_path.read_bytes()
        rec.full_path.unlink()
        assert main(args) == 0 and rec.full_path.read_bytes() == written[rec.source]  # deterministic
    assert main(args[:5] + ["any"] + args[6:-1] + [str(tmp_path / "any.csv")]) == 0
    (rec,) = read(tmp_path / "any.csv").records
    assert rec.full_path.read_bytes() == written[rec.source]


def test_camera_shake_is_a_line_blur_in_its_direction(astronaut):
    """shake(length, angle): the mean over ``length`` px along the line — horizontal at 0°, vertical at 90°."""
    import cv2

    im = Image.fromarray(astronaut)
    flat = np.asarray(augment.shake(im, 9, 0), np.float32)
    assert np.abs(flat - cv2.blur(astronaut, (9, 1)).astype(np.float32)).max() <= 1
    upright = np.asarray(augment.shake(im, 9, 90), np.float32)
    assert np.abs(upright - cv2.blur(astronaut, (1, 9)).astype(np.float32)).mean() < 1
    assert np.abs(upright - flat).mean() > 3


def test_turned_copies_are_the_image_turned_by_quarter_turns(tmp_path, astronaut, capsys):
    """--turn 90|180|270: one copy of every image turned counterclockwise (a photo whose EXIF orientation was
    lost, a person lying down), its own source, not a phone-like copy; any: one of the three per image, the
    very file that turn alone writes."""
    from agegender.manifest import read

    Image.fromarray(astronaut).save(tmp_path / "face.png")
    (tmp_path / "m.csv").write_text("path,source,key,age_group,gender,age_years,race\nface.png,utkface,face,25-32,f,30,white\n")
    written = {}
    for degrees, k in ((90, 1), (180, 2), (270, 3)):
        args = ["data", "augment", str(tmp_path / "m.csv"), str(tmp_path / "aug"), "--turn", str(degrees), "--quiet",
                "--root", str(tmp_path), "--out", str(tmp_path / f"t{degrees}.csv")]
        assert main(args) == 0
        (rec,) = read(tmp_path / f"t{degrees}.csv").records
        assert (rec.subject, rec.source, rec.age_group) == ("face", f"utkface-turn{degrees}-aug", 4)
        assert augment.is_copy(rec) and not augment.is_phone_copy(rec)
        im = np.asarray(Image.open(rec.full_path).convert("RGB")).astype(int)
        assert np.abs(im - np.rot90(astronaut, k)).mean() < 2  # the picture turned, not resampled
        written[rec.source] = rec.full_path.read_bytes()
    assert main(args[:5] + ["any"] + args[6:-1] + [str(tmp_path / "any.csv")]) == 0
    (rec,) = read(tmp_path / "any.csv").records
    assert rec.full_path.read_bytes() == written[rec.source]
    with pytest.raises(SystemExit) as e:  # one kind of copy per run
        main(args + ["--gray"])
    assert e.value.code == 2 and "--turn" in capsys.readouterr().err


def test_occlusions_paint_only_the_face_window_of_a_large_photo_with_the_same_result(astronaut, monkeypatch):
    """A sunglasses or mask copy of a large photo paints (and supersamples, shades, adds noise to) only the
    face's window, and is the very image that painting the whole frame gives: the same pixels, the same
    noise draws (so copies written before stay reproducible) — without a gigabyte for a 12 MP photo."""
    canvas = Image.new("RGB", (1600, 1200), (90, 120, 150))
    canvas.paste(Image.fromarray(astronaut), (700, 500))
    windowed = {k: np.asarray(augment.occlude(canvas, k, np.random.default_rng(7))) for k in augment.OCCLUSIONS}
    for im in windowed.values():
        changed = np.argwhere(np.any(im != np.asarray(canvas), axis=-1))
        assert len(changed) and changed.min(0).tolist() >= [500, 700] and changed.max(0).tolist() < [1012, 1212]
    monkeypatch.setattr(augment, "_window", lambda w, h, polygons, lines: (0, 0, w, h))  # the whole frame
    for kind, im in windowed.items():
        assert np.array_equal(np.asarray(augment.occlude(canvas, kind, np.random.default_rng(7))), im), kind
    rng, full = np.random.default_rng(3), np.random.default_rng(3).normal(0, 0.1, (70, 50))
    assert np.array_equal(augment._window_noise(rng, 50, (4, 9, 31, 70), 0.1, rows=16), full[9:70, 4:31])


def test_copies_never_train_when_their_original_is_tested_or_validated():
    from agegender.splits import stratified_kfold

    originals = [Record(path=f"{i}.jpg", source="utkface", key=f"k{i}", age_group=i % 8, gender=i % 2) for i in range(400)]
    copies = [Record(path=f"c{i}.{c}.jpg", source="utkface-aug", key=f"k{i}#{c}", subject=f"k{i}", age_group=i % 8,
                     gender=i % 2) for i in range(400) for c in range(2)]
    # other kinds of copies (shrunk, another view) train like copies but are not the phone-like test set
    others = [Record(path=f"s{i}.jpg", source=f"utkface-{kind}-aug", key=f"k{i}#{kind}", subject=f"k{i}", age_group=i % 8,
                     gender=i % 2) for i in range(400) for kind in ("64px", "view")]
    records = originals + copies + others
    assert [augment.is_phone_copy(r) for r in (originals[0], copies[0], others[0], others[1])] == [False, True, False, False]
    for test_on_copies in (False, True):
        for sp in stratified_kfold(records, k=5, seed=0, val_fraction=0.1, test_source="utkface", test_on_copies=test_on_copies):
            held = {records[i].key for i in sp.val} | {records[i].key for i in sp.test}
            held |= {records[i].subject for i in sp.test if records[i].subject}
            train_origins = {records[i].subject or records[i].key for i in sp.train}
            assert not train_origins & held
            assert len(sp.train) > 1200
            if test_on_copies:
                assert all(augment.is_phone_copy(records[i]) for i in sp.test) and len(sp.test) == 160
            else:
                assert not any(augment.is_copy(records[i]) for i in sp.test) and len(sp.test) == 80


def test_thresholds_from_a_target_accuracy():
    from agegender.evaluation import threshold_for_accuracy

    conf = np.linspace(0.5, 1.0, 1000)
    y = np.zeros(1000, int)
    right = np.random.default_rng(0).random(1000) < conf  # confidence is honest
    probs = np.stack([np.where(right, conf, 1 - conf), np.where(right, 1 - conf, conf)], 1)
    t = threshold_for_accuracy(probs, y, 0.9)
    answered = probs.max(1) >= t
    assert (probs[answered].argmax(1) == 0).mean() >= 0.9
    assert 0.25 < answered.mean() < 0.8  # as many answers as that accuracy allows
    assert threshold_for_accuracy(probs, y, 0.6) == 0.5  # reached by answering everything


def test_years_summary_and_targets():
    from agegender.targets import years_target

    p = np.zeros((2, 101))
    p[0, 30] = 1.0
    p[1, [20, 40]] = 0.5
    mean, std = labels.years_summary(p)
    assert mean.tolist() == [30.0, 30.0] and std.tolist() == [0.0, 10.0]
    t, w = years_target(np.array([30.0, np.nan, 120.0]))
    assert t.shape == (3, 101) and w.tolist() == [1.0, 0.0, 1.0]
    assert t[0].sum() == pytest.approx(1) and t[0].argmax() == 30 and t[1].sum() == 0 and t[2].argmax() == 100
    a = labels.Answer(4, 1, None, (0,) * 4 + (0.9,) + (0.1 / 3,) * 3, (0.1, 0.9), years=29.4, years_spread=4.6)
    assert a.text.endswith("; ≈ 29 years (± 5)") and a.to_dict()["age_years"] == 29.4


@pytest.fixture(scope="module")
def tail_run(tmp_path_factory, utk_named_faces):
    """A dlibtail model with a years head, trained briefly on real faces (trunk + agnet features)."""
    d = tmp_path_factory.mktemp("tail")
    assert main(["data", "utkface", str(utk_named_faces), "--out", str(d / "m.csv")]) == 0
    for ex in ("dlibtrunk", "agnet"):
        assert main(["features", str(d / "m.csv"), "--extractor", ex, "--out", str(d / f"{ex}.npz"), "--quiet"]) == 0
        assert main(["features", str(d / "m.csv"), "--extractor", ex, "--detector", "retinaface", "--landmarks", "retina5",
                     "--out", str(d / f"{ex}-r5.npz"), "--quiet"]) == 0  # photo-style chips: views of the same faces
    assert main(["train", "configs/dlibtail.toml", "--manifest", str(d / "m.csv"), "--features",
                 f"{d / 'dlibtrunk.npz'},{d / 'agnet.npz'}", "--views", f"{d / 'dlibtrunk-r5.npz'},{d / 'agnet-r5.npz'}",
                 "--set", "data.protocol=\"all\"", "--set", "data.val_fraction=0.25",
                 "--set", "train.epochs=2", "--set", "model.hidden=[16]", "--out", str(d / "run"), "--quiet"]) == 0
    return d / "run"


def test_a_fine_tuned_model_exports_with_its_calibration_and_years(tail_run, capsys):
    from agegender import export

    meta = json.loads((tail_run / "metadata.json").read_text())
    cal = meta["calibration"]
    assert cal["age"]["temperature"] > 0 and cal["gender"]["temperature"] > 0 and meta["years_head"] is True
    assert meta["preprocessing"]["extractors"] == ["dlibtrunk", "agnet"]
    assert meta["training"]["views"] and "utkface-view-aug" in meta["training"]["train_sources"]
    assert meta["training"]["train"] > 40 * 0.75  # the originals left after validation, and their views
    from agegender.predictor import model_landmarks

    assert all("detector=auto" in x for x in meta["preprocessing"]["settings"])  # features' default: crops cut as aligned
    assert model_landmarks(meta) == "dlib"  # trained on dlib's chips (+ views): no retina5 forced on prediction
    assert main(["export", str(tail_run), "--format", "onnx"]) == 0
    assert "DISAGREES" not in capsys.readouterr().out
    diffs = export.check_agreement(tail_run)
    assert diffs["onnx"] <= export.TOLERANCE
    meta = json.loads((tail_run / "metadata.json").read_text())
    assert meta["runtime"]["output_order"] == ["age", "gender", "years"]


def test_the_predictor_gives_the_age_in_years_everywhere(tail_run, tmp_path):
    import csv
    import io
    import subprocess
    import sys

    from agegender.cli import default_photo
    from agegender.predictor import Predictor

    if not (tail_run / "model.onnx").exists():
        from agegender import export

        export.export(tail_run, "onnx")
    res = Predictor.load(tail_run).predict(default_photo())
    face = res.faces[0].answer
    assert face.years is not None and 0 <= face.years <= 100 and face.years_spread > 0
    assert res.to_dict()["faces"][0]["age_years"] == round(face.years, 1)
    cmd = [sys.executable, "-m", "agegender", "predict", str(default_photo()), "--model", str(tail_run)]
    table = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    assert " years (± " in table
    rows = list(csv.DictReader(io.StringIO(subprocess.run([*cmd, "--csv"], capture_output=True, text=True, timeout=120).stdout)))
    assert float(rows[0]["age_years"]) == pytest.approx(face.years, abs=0.06) and rows[0]["age_years_spread"]


def test_weights_stored_as_float16_halve_the_file_and_agree(tail_run, tmp_path):
    from agegender import export

    fp32 = export.export(tail_run, "onnx", tmp_path / "fp32")
    fp16 = export.export(tail_run, "onnx", tmp_path / "fp16", weights="fp16")
    assert fp16.stat().st_size < 0.6 * fp32.stat().st_size
    assert export.check_agreement(tail_run, tmp_path / "fp16")["onnx"] <= export.TOLERANCE_FP16
    assert export.tolerance(tmp_path / "fp16") == export.TOLERANCE_FP16
    from agegender.cli import default_photo
    from agegender.predictor import Predictor

    a = Predictor.load(tmp_path / "fp32").predict(default_photo()).faces[0].answer
    b = Predictor.load(tmp_path / "fp16").predict(default_photo()).faces[0].answer
    assert np.allclose(a.age_probs, b.age_probs, atol=export.TOLERANCE_FP16) and a.best_gender == b.best_gender


def test_views_train_as_copies_of_their_image_and_never_with_it_held_out(tmp_path):
    """data.views: the same manifest's features computed another way (e.g. retina5 chips) join training
    as copies of their images — rows, labels and folds follow the original; mismatched files refuse."""
    from agegender import trainset
    from agegender.features.cache import FeatureSet
    from agegender.manifest import write

    n = 300
    recs = [Record(path=f"{i}.jpg", source="utkface", key=f"k{i}", age_group=i % 8, gender=i % 2, race="white")
            for i in range(n)]
    recs += [Record(path=f"c{i}.jpg", source="utkface-aug", key=f"k{i}#0", subject=f"k{i}", age_group=i % 8, gender=i % 2)
             for i in range(n)]
    man = write(Manifest(recs), tmp_path / "m.csv")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2 * n, 4)).astype(np.float32)
    feats = FeatureSet(X, np.arange(2 * n), "agnet", "agnet@3|detector=aligned").save(tmp_path / "f.npz", Manifest(recs))
    rows = np.array([i for i in range(n) if i != 7])  # the other alignment missed one face: no view of it
    views = FeatureSet(X[rows] + 100, rows, "agnet", "agnet@3|detector=retinaface/retina5|cutter=2").save(
        tmp_path / "v.npz", Manifest(recs))
    plain = trainset.load(man, feats)
    data = trainset.load(man, feats, views=views)
    assert len(data) == 2 * n + n - 1 and data.settings == plain.settings
    extra = data.records[2 * n:]
    assert extra[0].key == "k0#view" and extra[0].subject == "k0" and extra[0].source == "utkface-view-aug"
    assert np.array_equal(data.X[2 * n:], X[rows] + 100) and np.array_equal(data.y_age[2 * n:], [i % 8 for i in rows])
    assert list(data.race[2 * n:2 * n + 2]) == ["white", "white"]
    for k in range(5):
        sp, base = trainset.make_split(data, "utkface-a8", k), trainset.make_split(plain, "utkface-a8", k)
        assert np.array_equal(sp.test, base.test) and np.array_equal(sp.val, base.val)  # the same held-out faces
        held = {data.records[i].key for i in np.concatenate([sp.test, sp.val])}
        trained_views = [data.records[i] for i in sp.train if i >= 2 * n]
        assert trained_views and not {r.subject for r in trained_views} & held
        assert len(trained_views) == len([i for i in rows if f"k{i}" not in held])
    from agegender.benchmark import _test_copies  # the copies row scores the phone-like copies, not the views

    sp = trainset.make_split(data, "utkface-a8", 0)
    assert {data.records[i].key for i in _test_copies(data, sp)} == {f"{data.records[i].key}#0" for i in sp.test}
    wrong = FeatureSet(X[:, :3], np.arange(2 * n), "agnet", "x").save(tmp_path / "w.npz", Manifest(recs))
    with pytest.raises(ValueError, match="differ"):
        trainset.load(man, feats, views=wrong)
    # two sets of views (';'): one more training copy of each face per set, with its own key, never held out
    mirrored = FeatureSet(X[:n] - 100, np.arange(n), "agnet", "agnet@3|mirror").save(tmp_path / "mv.npz", Manifest(recs))
    both = trainset.load(man, feats, views=f"{views};{mirrored}")
    assert len(both) == len(data) + n and np.array_equal(both.X[len(data):], X[:n] - 100)
    assert both.records[len(data)].key == "k0#view2" and both.records[len(data)].subject == "k0"
    assert len({r.key for r in both.records}) == len(both)
    sp = trainset.make_split(both, "utkface-a8", 0)
    held = {both.records[i].key for i in np.concatenate([sp.test, sp.val])}
    assert np.array_equal(sp.test, trainset.make_split(plain, "utkface-a8", 0).test)
    assert not {both.records[i].subject for i in sp.train if i >= 2 * n} & held


def test_features_of_another_manifest_are_refused_by_key(tmp_path):
    """Rows are positions: a feature file joined to a manifest whose rows hold other faces is refused
    (naming the row), while one made from a manifest that the merged one begins with is accepted."""
    from agegender import trainset
    from agegender.features.cache import FeatureSet
    from agegender.manifest import write

    recs = [Record(path=f"{i}.jpg", source="utkface", key=f"k{i}", age_group=i % 8, gender=i % 2) for i in range(6)]
    first = write(Manifest(recs[:4]), tmp_path / "first.csv")
    merged = write(Manifest(recs), tmp_path / "merged.csv")
    shuffled = write(Manifest(recs[::-1]), tmp_path / "shuffled.csv")
    fs = FeatureSet(np.ones((4, 2), np.float32), np.arange(4), "agnet", "s").save(tmp_path / "f.npz", Manifest(recs[:4]))
    assert len(trainset.load(first, fs)) == len(trainset.load(merged, fs)) == 4
    with pytest.raises(ValueError, match="row 0 is 'k0' there but 'k5'"):
        trainset.load(shuffled, fs)


def test_one_joint_threshold_from_a_target_accuracy():
    from agegender.evaluation import covered, joint_threshold_for_accuracy

    rng = np.random.default_rng(1)
    n = 4000
    pa, pg = rng.uniform(0.5, 1.0, n), rng.uniform(0.5, 1.0, n)  # honest: each part right with its probability
    ya, yg = (rng.random(n) >= pa).astype(int), (rng.random(n) >= pg).astype(int)  # class 0 is the top one
    a = np.zeros((n, 8))
    a[:, 0], a[:, 1] = pa, 1 - pa
    g = np.stack([pg, 1 - pg], 1)
    t = joint_threshold_for_accuracy(a, g, ya, yg, 0.8)
    kept = covered(a, g, t)
    assert (t.age, t.gender) == (0.5, 0.5) and 0.6 < t.joint < 0.9
    assert ((ya[kept] == 0) & (yg[kept] == 0)).mean() >= 0.8 and 0.2 < kept.mean() < 0.9
    assert joint_threshold_for_accuracy(a, g, ya, yg, 0.999) is None  # not reachable


def test_a_feature_matrix_gathers_rows_of_large_blocks_as_float32():
    """Large features (float16 blocks) stay as stored; rows come back as the float32 a joined array gives."""
    from agegender.feature_matrix import FeatureMatrix, join_columns, join_rows

    rng = np.random.default_rng(0)
    a32, a16 = rng.normal(size=(5, 3)).astype(np.float32), rng.uniform(0, 6, (5, 4)).astype(np.float16)
    b32, b16 = rng.normal(size=(3, 3)).astype(np.float32), rng.uniform(0, 6, (3, 4)).astype(np.float16)
    assert isinstance(join_columns([a32, a32]), np.ndarray)  # small features: one array, as before
    X = join_rows(join_columns([a32, a16]), join_columns([b32, b16]))
    assert isinstance(X, FeatureMatrix) and X.shape == (8, 7) and len(X) == 8
    full = np.concatenate([np.concatenate([a32, a16], 1), np.concatenate([b32, b16], 1)]).astype(np.float32)
    rows = np.array([7, 0, 5, 2, 5])
    assert np.array_equal(X[rows], full[rows]) and X[rows].dtype == np.float32
    assert np.array_equal(X[full[:, 0] > 0], full[full[:, 0] > 0]) and np.array_equal(X[2:6], full[2:6])
    assert np.array_equal(X[rows, 3:], full[rows, 3:]) and np.array_equal(X[6], full[6])
    mean, var = X.mean_var(np.arange(1, 8), chunk=3)
    assert np.allclose(mean, full[1:].mean(0), atol=1e-5) and np.allclose(var, full[1:].var(0), atol=1e-5)
    with pytest.raises(ValueError, match="different numbers of columns"):
        FeatureMatrix([[a32], [b16]])


def test_faceresmap_is_cached_as_float16_and_read_back_the_same(tmp_path, astronaut):
    """faceresmap: faceres's values then the map, from one network run; the cache keeps them as float16."""
    import sqlite3

    from agegender.faces import FacePipeline
    from agegender.features import get_extractor
    from agegender.features.cache import compute_features
    from agegender.manifest import Manifest, Record

    Image.fromarray(astronaut).save(tmp_path / "a.png")
    m = Manifest([Record(path="a.png", root=str(tmp_path), source="x", key="a")])
    pipe = FacePipeline("retinaface", landmarks="retina5")
    first = compute_features(m, get_extractor("faceresmap"), pipe, tmp_path / "c.sqlite", progress=False)
    again = compute_features(m, get_extractor("faceresmap"), pipe, tmp_path / "c.sqlite", progress=False)
    assert first.features.dtype == np.float16 and first.features.shape == (1, 1126 + 50176)
    assert again.cache_hits == 1 and np.array_equal(first.features, again.features)
    (blob,) = sqlite3.connect(tmp_path / "c.sqlite").execute("SELECT vec FROM features").fetchone()
    assert len(blob) == 2 * (1126 + 50176)
    plain = compute_features(m, get_extractor("faceres"), pipe, tmp_path / "c.sqlite", progress=False)
    assert plain.features.dtype == np.float32  # the same network's first 1,126 values, to float16 precision
    assert np.allclose(first.features[:, :1126], plain.features, rtol=2e-3, atol=2e-3)
    fmap = first.features[0, 1126:].astype(np.float32)
    assert fmap.min() >= 0 and fmap.max() <= 6 and fmap.std() > 0.05  # ReLU6 output, not zeros


@pytest.mark.parametrize("fixture,extractor,dim,conv", [
    ("faceresmap_run", "faceresmap", 1126 + 50176, "faceres_tail_pw13"),
    ("agnetmap_run", "agnetmap", 83 + 6272, "agnet_tail_layer_6_conv")])
def test_a_model_with_a_networks_last_stage_trains_exports_and_predicts(fixture, extractor, dim, conv, request, capsys):
    """The stage trains inside the model (its weights move from the network's own), travels into the ONNX
    export, and the Predictor — which computes the map extractor itself — answers for a photo with it."""
    from agegender import export, training
    from agegender.cli import default_photo
    from agegender.config import load
    from agegender.models import build_model
    from agegender.models.build import map_tail_module
    from agegender.predictor import Predictor

    map_run = request.getfixturevalue(fixture)
    run = map_run / "run"
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["preprocessing"]["extractors"] == ["dlibtrunk", extractor]
    assert meta["preprocessing"]["input_dim"] == 8192 + dim
    model, _ = training.load_run(run)
    fresh = build_model(load("configs/dlibtail.toml"), 8192 + dim, trunk_columns=8192, map_tail=extractor)  # its own weights
    assert map_tail_module(extractor).MAP_DIM < dim
    assert np.abs(model.get_layer(conv).get_weights()[0] - fresh.get_layer(conv).get_weights()[0]).max() > 1e-6
    assert export.check_agreement(run)["onnx"] <= export.TOLERANCE  # exported by the fixture
    res = Predictor.load(run).predict(default_photo())
    assert len(res.faces) == 1 and len(res.faces[0].answer.gender_probs) == 2
    assert main(["evaluate", str(run), "--manifest", str(map_run / "m.csv"), "--features",
                 f"{map_run / 'dlibtrunk.npz'},{map_run / f'{extractor}.npz'}"]) == 0
    assert "images:" in capsys.readouterr().out


def test_the_age_networks_last_stage_alone_trains_exports_and_predicts(agnettail_run):
    """``agnetmap`` as the only features (configs/agnettail.toml), no dlib trunk — the age network's stage
    trains (its weights move), no dlib layer is built, the ONNX export agrees and the Predictor (which computes
    agnetmap itself) answers for a photo with an age in years."""
    from agegender import export, training
    from agegender.cli import default_photo
    from agegender.config import load
    from agegender.models import build_model
    from agegender.predictor import Predictor

    run = agnettail_run / "run"
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["preprocessing"]["extractors"] == ["agnetmap"] and meta["preprocessing"]["input_dim"] == 83 + 6272
    model, _ = training.load_run(run)
    names = {lay.name for lay in model.layers}
    assert {"agnet_map", "other", "agnet_tail_layer_6_conv"} <= names and "trunk" not in names
    assert not any(n.startswith("dlibtail_") for n in names)
    other = model.get_layer("other")
    assert (other.start, other.stop) == (0, 83)  # agnet's own outputs, joined with the stage's pooled values
    fresh = build_model(load("configs/agnettail.toml"), 83 + 6272, trunk_columns=0, map_tail="agnetmap")
    conv = "agnet_tail_layer_6_conv"
    assert np.abs(model.get_layer(conv).get_weights()[0] - fresh.get_layer(conv).get_weights()[0]).max() > 1e-6
    assert export.check_agreement(run)["onnx"] <= export.TOLERANCE
    face = Predictor.load(run).predict(default_photo()).faces
    assert len(face) == 1 and face[0].answer.years is not None
    with pytest.raises(ValueError, match="or a map extractor"):
        build_model(load("configs/agnettail.toml"), 83, trunk_columns=0)
    # model.gender_from = "other" (the fast model's config): the gender head reads agnet's 83 outputs alone,
    # linearly (the gender network's own answer); the age and years heads read the stack on the stage
    from agegender.config import ConfigError, validate

    cfg = load("configs/agnettail.toml")
    assert cfg.model.gender_from == "other" and model.get_layer("gender").get_weights()[0].shape == (83, 2)
    assert fresh.get_layer("age").get_weights()[0].shape == (512, 8)
    cfg.model.gender_from = "stack"
    stacked = build_model(cfg, 83 + 6272, trunk_columns=0, map_tail="agnetmap")
    assert stacked.get_layer("gender").get_weights()[0].shape == (512, 2)
    cfg.model.gender_from = "other"
    # and that layer is fitted on its own before the whole model trains (at the model's rate it learns too slowly):
    # on rows whose agnet columns tell gender, the untrained model is at chance, the started one is not
    rng = np.random.default_rng(0)
    g = rng.integers(0, 2, 1000)
    X = np.abs(rng.normal(size=(1000, 83 + 6272))).astype(np.float32)
    X[:, 5] += 3 * g
    mean, var = X.mean(0), X.var(0) + 1e-6
    mean[83:], var[83:] = 0.0, 1.0
    split = build_model(cfg, X.shape[1], mean, var, trunk_columns=0, map_tail="agnetmap")

    def accuracy():
        return (np.argmax(split.predict(X, verbose=0)["gender"], 1) == g).mean()

    assert accuracy() < 0.75
    training._start_gender_layer(split, X, np.arange(1000), np.eye(2)[g], np.ones(1000))
    assert accuracy() > 0.95
    cfg.model.kind = "head"
    with pytest.raises(ConfigError, match="gender_from = 'other' needs model.kind = 'dlibtail'"):
        validate(cfg)


def test_a_model_on_dlibs_last_two_stages_trains_exports_and_predicts(trunk64_run, capsys):
    """dlibtrunk64 first: the model runs (and fine-tunes) the 128-channel stage as well as the last one;
    the features are cached as float16; the ONNX export agrees and the Predictor, which computes
    dlibtrunk64 itself, answers for a photo."""
    from agegender import export, training
    from agegender.cli import default_photo
    from agegender.dlib_models import dlib_model_file
    from agegender.features.dlib_embedding import MODEL_FILE
    from agegender.features.dlib_onnx import folded, read_layers, residual_blocks
    from agegender.predictor import Predictor

    run = trunk64_run / "run"
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["preprocessing"]["extractors"] == ["dlibtrunk64", "agnet"]
    assert meta["preprocessing"]["input_dim"] == 64 * 17 * 17 + 83
    assert np.load(trunk64_run / "dlibtrunk64.npz")["features"].dtype == np.float16
    model, _ = training.load_run(run)
    first = residual_blocks(read_layers(dlib_model_file(MODEL_FILE)))[0][7]  # the 128-channel stage's first block
    start = folded(first["conv1"], first["affine1"])[0].transpose(2, 3, 1, 0)
    assert np.abs(model.get_layer("dlibtail_c0_conv1").get_weights()[0] - start).max() > 1e-6  # it trained
    assert export.check_agreement(run)["onnx"] <= export.TOLERANCE
    res = Predictor.load(run).predict(default_photo())
    assert len(res.faces) == 1 and len(res.faces[0].answer.age_probs) == 8


def test_test_time_flip_averages_the_face_and_its_mirror_image(tmp_path, astronaut):
    """Predictor(flip=True) answers the mean of the face's answer and its mirrored chips' answer — the
    features `agegender features --mirror` computes (one path for the benchmark and for prediction)."""
    from agegender.cli import default_photo
    from agegender.faces import FacePipeline
    from agegender.features.cache import compute_features
    from agegender.manifest import Manifest, Record
    from agegender.predictor import Predictor

    plain, flip = Predictor.fast(), Predictor.fast(flip=True)
    (ex,) = plain.extractors
    m = Manifest([Record(path=default_photo().name, root=str(default_photo().parent), source="x", key="a")])
    pipe = FacePipeline("retinaface", landmarks="retina5")
    feats = {mir: compute_features(m, ex, pipe, tmp_path / "c.sqlite", progress=False, mirror=mir) for mir in (False, True)}
    assert "|mirror" in feats[True].setting and not np.allclose(feats[True].features, feats[False].features)
    # the fast model's agnetmap features are cached as float16 (its relative precision ~5e-4): hence the tolerances
    assert np.allclose(feats[False].features, plain.features(astronaut, plain.pipeline.faces(astronaut)[:1]), rtol=1e-3, atol=1e-3)
    age = [plain.distributions(feats[mir].features)[0][0] for mir in (False, True)]
    gender = [plain.distributions(feats[mir].features)[1][0] for mir in (False, True)]
    got = flip.predict(default_photo()).faces[0].answer
    assert np.allclose(got.age_probs, np.mean(age, 0), atol=5e-4) and np.allclose(got.gender_probs, np.mean(gender, 0), atol=5e-4)
    assert not np.allclose(got.age_probs, age[0], atol=1e-2)  # really averaged with something else (here 0.05 apart)
    assert got.years is not None and got.years_spread > 0


def test_predict_flip_on_the_command_line(tmp_path, capsys):
    from agegender.cli import default_photo

    assert main(["predict", str(default_photo()), "--fast", "--flip", "--json"]) == 0
    flipped = json.loads(capsys.readouterr().out.strip().splitlines()[0])
    assert main(["predict", str(default_photo()), "--fast", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out.strip().splitlines()[0])
    assert len(flipped["faces"]) == len(plain["faces"]) == 1
    assert flipped["faces"][0]["gender_probs"] != plain["faces"][0]["gender_probs"]


def test_evaluate_scores_flipped_answers_from_mirrored_features(tmp_path, utk_named_faces, capsys):
    """evaluate --mirrored: the benchmark-side twin of predict --flip, on features from `features --mirror`."""
    from agegender.predictor import FAST_MODEL

    m = tmp_path / "m.csv"
    assert main(["data", "utkface", str(utk_named_faces), "--out", str(m)]) == 0
    for name, extra in (("plain", []), ("mirror", ["--mirror"])):
        assert main(["features", str(m), "--extractor", "agnetmap", "--out", str(tmp_path / f"{name}.npz"), "--quiet", *extra]) == 0
    capsys.readouterr()
    lines = {}
    for name, extra in (("plain", []), ("flip", ["--mirrored", str(tmp_path / "mirror.npz")])):
        assert main(["evaluate", str(FAST_MODEL), "--manifest", str(m), "--features", str(tmp_path / "plain.npz"), *extra]) == 0
        lines[name] = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("40 images:"))
    assert lines["plain"] != lines["flip"]
    assert main(["features", str(m), "--extractor", "agnetmap", "--mirror", "--limit", "20", "--out", str(tmp_path / "half.npz"),
                 "--quiet"]) == 0
    assert main(["evaluate", str(FAST_MODEL), "--manifest", str(m), "--features", str(tmp_path / "plain.npz"),
                 "--mirrored", str(tmp_path / "half.npz")]) != 0
    assert "not the same images" in capsys.readouterr().err


def test_portrait_copies_set_the_crop_loosely_in_a_448_px_photo(tmp_path, astronaut, capsys):
    """--portrait: one copy of every image, the crop 30 % as wide as a 448 px square photo in its middle on a
    plain background, the same file on a second run."""
    from agegender.manifest import read

    Image.fromarray(astronaut[40:200, 160:290]).save(tmp_path / "a.png")
    (tmp_path / "m.csv").write_text("path,source,key,gender\na.png,celeba,a,f\n")
    args = ["data", "augment", str(tmp_path / "m.csv"), str(tmp_path / "p"), "--portrait", "--quiet", "--root",
            str(tmp_path), "--out", str(tmp_path / "p.csv")]
    assert main(args) == 0
    (rec,) = read(tmp_path / "p.csv").records
    assert rec.subject == "a" and rec.gender == 1 and rec.source == "celeba-portrait-aug"
    im = np.asarray(Image.open(rec.full_path).convert("RGB")).astype(int)
    assert im.shape == (448, 448, 3)
    width = round(448 * augment.PORTRAIT_SHARE)
    assert tuple(im[5, 5]) in {tuple(c) for c in np.array(augment.PORTRAIT_BACKGROUNDS)} or \
        min(np.abs(im[5, 5] - np.array(augment.PORTRAIT_BACKGROUNDS)).sum(axis=1)) <= 6  # a plain background (JPEG)
    crop_columns = (np.abs(im - im[5, 5]).sum(axis=2) > 40).any(axis=0)  # where the picture differs from the background
    assert abs(int(crop_columns.sum()) - width) <= 4
    assert not augment.is_phone_copy(rec) and "loosely framed 448 px portraits" in capsys.readouterr().out
    first = rec.full_path.read_bytes()
    rec.full_path.unlink()
    assert main(args) == 0 and rec.full_path.read_bytes() == first
