import numpy as np
import pytest
from PIL import Image

from agegender import manifest as mf
from agegender.faces import FacePipeline
from agegender.features import get_extractor, list_extractors
from agegender.features.cache import FeatureSet, compute_features
from agegender.manifest import Manifest, Record


@pytest.fixture(scope="module")
def chips(astronaut, retina):
    f = retina.faces(astronaut)[0]
    return lambda ex: [np.stack([retina.chip(astronaut, f, s.size, s.padding)] * 2) for s in ex.chips]


@pytest.mark.parametrize("name,dim", [("pixels", 3072), ("dlib128", 128), ("agnet", 83), ("dlib128+agnet", 211),
                                      ("faceres", 1126), ("faceres160", 1126)])
def test_shapes_and_determinism(chips, name, dim):
    ex = get_extractor(name)
    assert ex.dim == dim
    a = ex.extract(chips(ex))
    b = get_extractor(name).extract(chips(ex))
    assert a.shape == (2, dim) and a.dtype == np.float32 and np.isfinite(a).all()
    assert np.array_equal(a, b)
    assert np.array_equal(a[0], a[1])


def test_agnet_reads_the_astronaut_as_an_adult_woman(chips):
    v = get_extractor("agnet").extract(chips(get_extractor("agnet")))[0]
    probs = np.exp(v[:81])
    assert probs.sum() == pytest.approx(1.0, abs=1e-3)
    assert 20 < v[81] < 50          # expected age in years
    assert v[82] < 0                # gender logit log(p_male / p_female): female


def test_faceres_reads_the_astronaut_as_an_adult_woman(chips):
    """faceres-deep gets its chips as its authors trained it: BGR minus the ImageNet means."""
    from agegender.features.faceres import POOLED, FaceResDeep

    ex = get_extractor("faceres")
    c = chips(ex)
    v = ex.extract(c)[0]
    probs = np.exp(v[POOLED + 2:])
    assert probs.sum() == pytest.approx(1.0, abs=1e-3)
    assert 25 < v[POOLED + 1] < 60      # expected age in years (Eileen Collins was about 40)
    assert v[POOLED] < -2               # gender logit: clearly female
    red = np.zeros((1, 2, 2, 3), np.uint8)
    red[..., 0] = 255
    assert np.allclose(FaceResDeep.prepare(red)[0, 0, 0], [-103.939, -116.779, 255 - 123.68], atol=1e-3)


def test_faceres160_is_faceres_deep_on_a_smaller_chip_of_the_same_face(chips):
    """faceres160 runs the same network on 160 px chips cut with faceres's padding: the same reading of the
    face (female, an adult), not the same numbers."""
    from agegender.features.faceres import POOLED

    small, big = get_extractor("faceres160"), get_extractor("faceres")
    assert small.chips[0].size == 160 and small.chips[0].padding == big.chips[0].padding
    c = chips(small)
    assert c[0].shape[1:] == (160, 160, 3)
    v, w = small.extract(c)[0], big.extract(chips(big))[0]
    assert v[POOLED] < -2 and 20 < v[POOLED + 1] < 60
    assert not np.allclose(v, w) and np.corrcoef(v[:POOLED], w[:POOLED])[0, 1] > 0.5  # 0.72 here


def test_relu6_written_as_one_clip_gives_the_same_values_and_the_shipped_faceres_has_it(tmp_path):
    """tf2onnx writes Keras's ReLU6 as Relu → Min(6) → Max(0); ``relu6_as_clip`` makes it one Clip (which
    onnxruntime fuses into the convolution) with the same values, and faceres-deep ships rewritten."""
    import shutil

    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from agegender.export import relu6_as_clip
    from agegender.features.faceres import model_file

    w = numpy_helper.from_array(np.random.default_rng(0).normal(0, 3, (4, 3, 1, 1)).astype(np.float32), "w")
    six, zero = (numpy_helper.from_array(np.full((1, 1, 1, 1), v, np.float32), n) for n, v in (("six", 6), ("zero", 0)))
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]), helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Min", ["r", "six"], ["m"]), helper.make_node("Max", ["m", "zero"], ["y"]),
             helper.make_node("Relu", ["y"], ["z"])]  # a plain ReLU stays
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 5, 5])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 4, 5, 5])], [w, six, zero])
    path = tmp_path / "relu6.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    x = {"x": np.random.default_rng(1).normal(0, 4, (1, 3, 5, 5)).astype(np.float32)}
    before = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, x)[0]
    assert relu6_as_clip(path) == 1
    assert [n.op_type for n in onnx.load(str(path)).graph.node] == ["Conv", "Clip", "Relu"]
    after = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, x)[0]
    assert (before > 0).any() and (before == 6).any()  # both ends of the clip were reached
    assert np.array_equal(before, after)
    assert relu6_as_clip(path) == 0  # nothing left to rewrite

    shipped = shutil.copy(model_file(), tmp_path / "faceres.onnx")
    ops = [n.op_type for n in onnx.load(shipped).graph.node]
    assert ops.count("Clip") == 27 and "Min" not in ops and relu6_as_clip(shipped) == 0


def test_agnet_with_denormal_weights_zeroed_gives_the_same_outputs(chips):
    """The age network's denormal weights (which make it ~10x slower on x86) are zeroed at load time;
    the networks' outputs on a real face do not change."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    from agegender.features.agnet import flushed_model

    ex = get_extractor("agnet")
    cleaned = onnx.load_from_string(flushed_model(ex.age_file()))
    tiny = np.finfo(np.float32).tiny
    for t in cleaned.graph.initializer:
        a = numpy_helper.to_array(t)
        if a.dtype == np.float32:
            assert not ((a != 0) & (np.abs(a) < tiny)).any(), t.name
    original = onnx.load(str(ex.age_file()))
    assert any(((a := numpy_helper.to_array(t)) != 0).any() and ((a != 0) & (np.abs(a) < tiny)).any()
               for t in original.graph.initializer if t.data_type == onnx.TensorProto.FLOAT)
    c = chips(ex)
    for path, chip, cfg in ((ex.age_file(), c[0], ex._age_cfg), (ex.gender_file(), c[1], ex._gender_cfg)):
        raw = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        x = ex._prep(chip, cfg)
        ref = raw.run(None, {cfg["input"]["name"]: x})[0]
        got = ort.InferenceSession(flushed_model(path), providers=["CPUExecutionProvider"]).run(None, {cfg["input"]["name"]: x})[0]
        assert np.allclose(ref, got, atol=1e-7)


def test_onnx_descriptor_equals_dlibs_own(astronaut, retina):
    """dlib128 runs dlib's ResNet rebuilt as ONNX from dlib's file: the same numbers as dlib computes."""
    import dlib

    from agegender.dlib_models import dlib_model_file
    from agegender.features.dlib_embedding import MODEL_FILE
    from agegender.features.dlib_onnx import read_layers

    layers = read_layers(dlib_model_file(MODEL_FILE))
    assert [lay["kind"] for lay in layers].count("conv") == 29 and layers[-1]["weight"].shape == (256, 128)
    face = retina.faces(astronaut)[0]
    chips = np.stack([retina.chip(astronaut, face, 150, 0.25), retina.chip(astronaut[:, ::-1].copy(), retina.faces(
        astronaut[:, ::-1].copy())[0], 150, 0.25), np.full((150, 150, 3), 90, np.uint8)])
    ours = get_extractor("dlib128").extract([chips])
    net = dlib.face_recognition_model_v1(dlib_model_file(MODEL_FILE))
    theirs = np.array(net.compute_face_descriptor([np.ascontiguousarray(c) for c in chips]), dtype=np.float32)
    assert ours.shape == (3, 128)
    assert np.abs(ours - theirs).max() < 1e-5


def test_dlib_embedding_is_unit_scale_and_identity_aware(astronaut, retina, chips):
    ex = get_extractor("dlib128")
    v = ex.extract(chips(ex))[0]
    assert 0.5 < np.linalg.norm(v) < 1.5
    flipped = np.ascontiguousarray(astronaut[:, ::-1])
    f = retina.faces(flipped)[0]
    w = ex.extract([np.stack([retina.chip(flipped, f, 150, 0.25)])])[0]
    assert np.linalg.norm(v - w) < 0.4  # same person mirrored: dlib's same-identity distance is < 0.6


def test_unknown_extractor():
    with pytest.raises(ValueError, match="unknown extractor 'vgg'"):
        get_extractor("agnet+vgg")
    assert set(list_extractors()) == {"pixels", "pixels64", "dlib128", "dlibtrunk", "dlibtrunk64", "agnet", "agnetmap", "faceres", "faceres160", "faceresmap"}


@pytest.fixture()
def small_manifest(tmp_path, astronaut):
    paths = []
    for i in range(5):  # five different crops of the face → five different files
        p = tmp_path / f"face{i}.png"
        Image.fromarray(astronaut[30 + 4 * i: 210 + 4 * i, 150:300]).save(p)
        paths.append(p)
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    Image.new("RGB", (200, 200), (128, 128, 128)).save(tmp_path / "blank.png")
    recs = [Record(path=p.name, root=str(tmp_path), source="t", key=p.name) for p in paths]
    recs.insert(2, Record(path="corrupt.jpg", root=str(tmp_path), source="t", key="corrupt"))
    recs.insert(4, Record(path="blank.png", root=str(tmp_path), source="t", key="blank"))
    recs.append(Record(path="missing.jpg", root=str(tmp_path), source="t", key="missing"))
    return Manifest(recs)


def test_cache_miss_then_hit_and_failures_reported(tmp_path, small_manifest):
    ex, pipe = get_extractor("agnet"), FacePipeline("retinaface")
    cache = tmp_path / "c.sqlite"
    first = compute_features(small_manifest, ex, pipe, cache, batch_size=2, progress=False)
    assert len(first.rows) == 5 and first.computed == 5 and first.cache_hits == 0
    reasons = {small_manifest.records[i].key: why for i, why in first.failed.items()}
    assert set(reasons) == {"corrupt", "blank", "missing"}
    assert "corrupt.jpg: truncated" in reasons["corrupt"] and "no face found" in reasons["blank"] and "cannot read" in reasons["missing"]
    second = compute_features(small_manifest, ex, pipe, cache, batch_size=2, progress=False)
    assert second.computed == 0 and second.cache_hits == 7  # 5 faces + 2 cached failures; the missing file is re-tried
    assert np.array_equal(first.features, second.features) and np.array_equal(first.rows, second.rows)
    # another detector is another setting: nothing is reused wrongly
    third = compute_features(small_manifest, ex, FacePipeline("aligned"), cache, batch_size=2, progress=False)
    assert third.cache_hits == 0 and "blank" not in {small_manifest.records[i].key for i in third.failed}


def test_retina5_features_are_keyed_by_the_cutter_revision(tmp_path, small_manifest):
    """Chips of another cutter revision are other features: a changed cutter never reuses stale rows."""
    import sqlite3

    from agegender import alignment

    ex, cache = get_extractor("agnet"), tmp_path / "c.sqlite"
    fs = compute_features(small_manifest, ex, FacePipeline("retinaface", landmarks="retina5"), cache, progress=False)
    assert fs.setting.endswith(f"detector=retinaface+upright2+closeup+rescue/retina5|cutter={alignment.CUTTER}") and fs.computed == 5
    with sqlite3.connect(cache) as db:  # as an earlier cutter would have keyed them
        db.execute("UPDATE features SET setting = replace(setting, ?, '|cutter=1')", (f"|cutter={alignment.CUTTER}",))
    again = compute_features(small_manifest, ex, FacePipeline("retinaface", landmarks="retina5"), cache, progress=False)
    assert again.cache_hits == 0 and again.computed == 5


def test_resume_after_interruption_recomputes_nothing_done(tmp_path, small_manifest):
    ex, pipe = get_extractor("agnet"), FacePipeline("retinaface")
    cache = tmp_path / "c.sqlite"

    def stop_after_first_batch(n):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        compute_features(small_manifest, ex, pipe, cache, batch_size=2, progress=False, on_batch=stop_after_first_batch)
    resumed = compute_features(small_manifest, ex, pipe, cache, batch_size=2, progress=False)
    assert resumed.computed == 3 and len(resumed.rows) == 5
    fresh = compute_features(small_manifest, ex, pipe, tmp_path / "other.sqlite", batch_size=5, progress=False)
    assert np.allclose(resumed.features, fresh.features, atol=1e-5)


def test_save_and_load_npz(tmp_path, small_manifest):
    fs = compute_features(small_manifest, get_extractor("pixels"), FacePipeline("aligned"), tmp_path / "c.sqlite", progress=False)
    out = fs.save(tmp_path / "f.npz", small_manifest)
    back = FeatureSet.load(out)
    assert back.features.shape == (6, 3072) and np.array_equal(back.rows, fs.rows)
    with np.load(out) as z:
        assert "corrupt" in str(z["meta"]) and list(z["keys"])[0] == "face0.png"


def test_cli_features(tmp_path, small_manifest, capsys):
    from agegender.cli import main

    man = mf.write(small_manifest, tmp_path / "m.csv")
    out = tmp_path / "feat.npz"
    args = ["features", str(man), "--extractor", "agnet", "--detector", "retinaface", "--out", str(out), "--quiet"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "5 of 8 images" in text and "3 failed" in text and "corrupt.jpg" in text
    assert main(args) == 0
    assert "0 computed" in capsys.readouterr().out


def test_two_extractors_share_one_cache_without_mixing(tmp_path, small_manifest):
    cache, pipe = tmp_path / "c.sqlite", FacePipeline("aligned")
    a = compute_features(small_manifest, get_extractor("agnet"), pipe, cache, progress=False)
    p = compute_features(small_manifest, get_extractor("pixels"), pipe, cache, progress=False)
    assert p.cache_hits == 0 and p.features.shape[1] == 3072 and a.features.shape[1] == 83


def test_parallel_workers_give_the_same_features(tmp_path, small_manifest):
    from agegender.features.cache import compute_features_parallel

    one = compute_features(small_manifest, get_extractor("agnet"), FacePipeline("retinaface"), tmp_path / "a.sqlite",
                           batch_size=2, progress=False)
    two = compute_features_parallel(small_manifest, "agnet", "retinaface", tmp_path / "b.sqlite", workers=2,
                                    batch_size=2, progress=False)
    assert np.array_equal(one.rows, two.rows) and np.allclose(one.features, two.features, atol=1e-6)
    assert set(one.failed) == set(two.failed)
    assert (two.computed, two.failed_now, two.cache_hits) == (5, 2, 0)


def test_auto_cuts_crops_as_aligned_and_photos_as_prediction_does(tmp_path, astronaut):
    """``--detector auto`` (features' default): a face crop gets exactly the aligned features the built-in models
    were trained on; the same face set loosely in a photo (`data augment --portrait`, as FairFace frames faces)
    gets exactly the photo path's — not whole-image alignment, which misreads such a photo."""
    from agegender import augment
    from agegender.cli import main
    from agegender.faces import AUTO_CROP_SHARE, AUTO_CROP_SPAN
    from agegender.predictor import model_landmarks

    crop = Image.fromarray(astronaut[40:200, 160:290])  # the face fills most of it (its box: 54 % of the crop)
    crop.save(tmp_path / "crop.png")
    augment.portrait(crop, np.random.default_rng(0)).save(tmp_path / "portrait.png")
    man = Manifest([Record(path=n, root=str(tmp_path), source="t", key=n) for n in ("crop.png", "portrait.png")])
    ex = get_extractor("agnet")

    def feats(pipe):
        return compute_features(man, ex, pipe, tmp_path / "c.sqlite", progress=False).features

    auto = FacePipeline("auto")
    assert auto.setting.startswith(f"auto{AUTO_CROP_SHARE:g}x{AUTO_CROP_SPAN:g}+centre+found[aligned;retinaface")
    assert "retina5" in auto.setting
    got, aligned, photo = feats(auto), feats(FacePipeline("aligned")), feats(FacePipeline("retinaface", landmarks="retina5"))
    assert np.array_equal(got[0], aligned[0]) and not np.array_equal(got[0], photo[0])   # the crop: as trained
    assert np.array_equal(got[1], photo[1]) and not np.allclose(got[1], aligned[1], atol=1e-3)  # the photo: as predicted
    # whole-image alignment of the photo reads another face than the crop's; the photo path reads the crop's
    assert np.abs(photo[1] - aligned[0]).mean() < np.abs(aligned[1] - aligned[0]).mean()
    with pytest.raises(ValueError, match="auto detector picks the alignment itself"):
        FacePipeline("auto", landmarks="retina5")
    # the CLI's default: a manifest of either kind is cut right without a flag
    assert main(["features", str(mf.write(man, tmp_path / "m.csv")), "--extractor", "agnet", "--out",
                 str(tmp_path / "f.npz"), "--cache", str(tmp_path / "c.sqlite"), "--quiet"]) == 0
    cli = FeatureSet.load(tmp_path / "f.npz")
    assert "detector=auto" in cli.setting and np.array_equal(cli.features, got)
    # a model trained on auto's features is not taken as retina5-trained
    assert model_landmarks({"preprocessing": {"settings": [cli.setting]}}) == "dlib"
    assert model_landmarks({"preprocessing": {"settings": [photo_setting := compute_features(
        man, ex, FacePipeline("retinaface", landmarks="retina5"), tmp_path / "c.sqlite", progress=False).setting]}}) == "retina5"
    assert "/retina5" in photo_setting


def test_auto_reads_a_photos_subject_the_face_over_its_centre(astronaut):
    """A data set's photo is framed on the person its labels are about: ``auto`` puts the face over the image's
    centre first even when another, larger face stands at the side (plain RetinaFace: the largest first)."""
    face = Image.fromarray(astronaut[40:200, 160:290])
    photo = Image.new("RGB", (900, 900), (120, 118, 110))
    photo.paste(face.resize((260, 320)), (10, 20))        # a bystander, larger, at the left
    photo.paste(face.resize((180, 222)), (360, 339))      # the subject, in the middle
    image = np.asarray(photo)
    plain = FacePipeline("retinaface", landmarks="retina5").faces(image)
    auto = FacePipeline("auto").faces(image)
    assert len(plain) == len(auto) == 2 and plain[0].box[0] < 100            # largest first: the bystander
    x0, y0, x1, y1 = auto[0].box
    assert x0 <= 450 <= x1 and y0 <= 450 <= y1 and auto[1].box == plain[0].box  # auto: the subject, then the rest


def test_auto_finds_no_face_where_retinaface_finds_none(tmp_path, astronaut):
    """No face found is no face, not "a crop too tight to detect" read whole (the 12 of UTKFace's and CelebA's crops
    RetinaFace misses are eyes, a barcode, blur and paintings): the image fails, named, as with any detector; a crop
    beside it is still cut as ``aligned``."""
    Image.fromarray(astronaut[40:200, 160:290]).save(tmp_path / "crop.png")
    Image.fromarray(np.asarray(Image.fromarray(astronaut[300:460, 300:430]).resize((64, 64)))).save(tmp_path / "none.png")
    man = Manifest([Record(path=n, root=str(tmp_path), source="t", key=n) for n in ("crop.png", "none.png")])
    ex = get_extractor("agnet")
    auto = compute_features(man, ex, FacePipeline("auto"), tmp_path / "c.sqlite", progress=False)
    aligned = compute_features(man, ex, FacePipeline("aligned"), tmp_path / "c.sqlite", progress=False)
    assert list(auto.rows) == [0] and auto.failed == {1: f"{tmp_path / 'none.png'}: no face found"}
    assert list(aligned.rows) == [0, 1] and np.array_equal(auto.features[0], aligned.features[0])
    assert "+found[" in auto.setting


def test_is_crop_needs_the_face_to_cover_and_span_its_image():
    from agegender.faces import is_crop

    assert is_crop((20, 10, 180, 190), 200, 200)           # a UTKFace-like crop
    assert not is_crop((150, 150, 290, 320), 448, 448)     # a loosely framed portrait
    assert not is_crop((0, 0, 300, 300), 300, 900)         # a tall photo, its face large: half the area, a third of the height
    assert not is_crop((0, 0, 0, 0), 100, 100)
