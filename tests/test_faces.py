import io
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from agegender.detectors import RetinaFaceDetector, is_upright, merge_detections, unturn, unturn_box, upright_turn
from agegender.faces import FacePipeline
from agegender.imaging import load_image


def _inside(pt, box):
    return box[0] <= pt[0] <= box[2] and box[1] <= pt[1] <= box[3]


def test_astronaut_one_face_with_landmarks_in_place(astronaut, retina):
    faces = retina.faces(astronaut)
    assert len(faces) == 1
    f = faces[0]
    assert f.score > 0.9
    # the face is in the upper middle of the 512x512 portrait
    assert 150 < f.box[0] < 220 and 230 < f.box[2] < 300 and 30 < f.box[1] < 90 and 150 < f.box[3] < 200
    le, re, nose, ml, mr = f.landmarks
    assert all(_inside(p, f.box) for p in f.landmarks)
    assert le[0] < nose[0] < re[0]                       # eyes either side of the nose
    assert max(le[1], re[1]) < nose[1] < min(ml[1], mr[1])  # eyes above nose above mouth
    assert ml[0] < mr[0]
    assert 30 < re[0] - le[0] < 60                       # plausible eye distance for this face size
    # dlib's refined eye corners agree with RetinaFace's eye centres
    corners = np.array([[f.shape.part(i).x, f.shape.part(i).y] for i in range(4)])
    assert np.abs(corners[2:].mean(0) - le).max() < 8 and np.abs(corners[:2].mean(0) - re).max() < 8


def test_hog_alternative_finds_the_same_face(astronaut):
    faces = FacePipeline("hog").faces(astronaut)
    assert faces, "HOG should find the astronaut"
    f = faces[0]  # largest first
    assert _inside(((f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2), (177, 56, 272, 176))
    assert np.isnan(f.landmarks[3:]).all() and not np.isnan(f.landmarks[:3]).any()


def test_group_of_pasted_faces_all_found_largest_first(astronaut, retina):
    face = Image.fromarray(astronaut).crop((150, 30, 300, 200))
    canvas = Image.new("RGB", (900, 500), (90, 120, 150))
    spots = [(20, 40, 220), (300, 60, 170), (520, 200, 120), (720, 100, 150)]
    for i, (x, y, side) in enumerate(spots):
        f = face.resize((side, round(side * 170 / 150)))
        canvas.paste(f.transpose(Image.FLIP_LEFT_RIGHT) if i % 2 else f, (x, y))
    faces = retina.faces(np.asarray(canvas))
    assert len(faces) == 4
    areas = [f.area for f in faces]
    assert areas == sorted(areas, reverse=True)
    centres = sorted((f.box[0] + f.box[2]) / 2 for f in faces)
    for (x, _, side), c in zip(sorted(spots), centres):
        assert x < c < x + side


def test_blank_image_has_no_face_and_is_not_an_error(retina):
    assert retina.faces(np.full((300, 400, 3), 128, np.uint8)) == []
    assert FacePipeline("hog").faces(np.zeros((64, 64, 3), np.uint8)) == []


def test_exif_rotated_photo_is_found_upright(astronaut, retina):
    im = Image.fromarray(astronaut).transpose(Image.ROTATE_90)  # stored sideways
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90° CW to display" → upright again
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    faces = retina.faces(load_image(buf.getvalue()))
    assert len(faces) == 1 and faces[0].landmarks[0][1] < faces[0].landmarks[2][1]


def _upright_reference(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The landmarks RetinaFace gives the upright face, and its eye distance (the unit errors are judged in)."""
    (_, _, pts), = RetinaFaceDetector().detect(image)
    return pts, float(np.hypot(*(pts[1] - pts[0])))


def test_a_face_turned_sideways_or_upside_down_gets_upright_landmarks(astronaut):
    """No EXIF to undo the turn (a photo turned by an app, a baby on its back): RetinaFace still finds the face
    but, past ~90°, puts its eyes where its mouth is; the upright pass reads the face's neighbourhood turned
    upright and gives the turned face's own landmarks — so the chip is cut the right way up."""
    h, w = astronaut.shape[:2]
    upright, eyes = _upright_reference(astronaut)
    assert is_upright(upright)
    for k in (1, 2, 3):
        turned = np.ascontiguousarray(np.rot90(astronaut, k))
        (_, _, pts), = RetinaFaceDetector().detect(turned)
        assert np.abs(unturn(pts, k, w, h) - upright).max() < 0.1 * eyes, k  # the same points, turned
        (_, _, first), = RetinaFaceDetector(upright=False).detect(turned)
        assert not is_upright(first) and np.abs(unturn(first, k, w, h) - upright).max() > 0.3 * eyes, k
    # a tighter, smaller portrait turned: the first landmarks look upright (level eyes, a mouth below them) but
    # are the wrong points; the face's lower score sends it to the second look all the same
    tight = np.asarray(Image.fromarray(astronaut).crop((150, 20, 310, 220)).resize((100, 125)))
    th, tw = tight.shape[:2]
    ref, eyes = _upright_reference(tight)
    for k in (1, 2, 3):
        turned = np.ascontiguousarray(np.rot90(tight, k))
        (_, score, first), = RetinaFaceDetector(upright=False).detect(turned)
        assert is_upright(first) and score < 0.99 and np.abs(unturn(first, k, tw, th) - ref).max() > 0.5 * eyes, k
        (_, _, pts), = RetinaFaceDetector().detect(turned)
        assert np.abs(unturn(pts, k, tw, th) - ref).max() < 0.15 * eyes, k
    # a face tilted within the limit keeps its first landmarks (no second look, no cost)
    tilted = np.asarray(Image.fromarray(astronaut).rotate(30, resample=Image.BILINEAR))
    (_, _, a), = RetinaFaceDetector().detect(tilted)
    (_, _, b), = RetinaFaceDetector(upright=False).detect(tilted)
    assert is_upright(a) and np.array_equal(a, b)


def test_a_photo_with_no_face_found_is_searched_again_turned(astronaut):
    """A small face turned sideways or upside down is not found at all (a 48 px portrait): the photo is searched
    again turned by a quarter, a half and three quarters, and the face comes back with its box and upright
    landmarks in the photo's own pixels. A photo with no face in any turn still has none."""
    small = np.asarray(Image.fromarray(astronaut).crop((160, 40, 300, 200)).resize((48, 55)))
    h, w = small.shape[:2]
    upright, eyes = _upright_reference(small)
    for k in (1, 2, 3):
        turned = np.ascontiguousarray(np.rot90(small, k))
        assert RetinaFaceDetector(upright=False).detect(turned) == []
        (box, _, pts), = RetinaFaceDetector().detect(turned)
        assert np.abs(unturn(pts, k, w, h) - upright).max() < 0.25 * eyes, k
        assert all(box[0] - 1 <= x <= box[2] + 1 and box[1] - 1 <= y <= box[3] + 1 for x, y in pts)
    assert RetinaFaceDetector().detect(np.full((300, 400, 3), 128, np.uint8)) == []


def _group(astronaut: np.ndarray, turned: tuple[int, ...] = ()) -> np.ndarray:
    """Four portraits, 260 to 80 px wide, on one 900×600 photo; those numbered in ``turned`` lie on their side."""
    face = Image.fromarray(astronaut).crop((130, 10, 330, 240))
    canvas = Image.new("RGB", (900, 600), (90, 110, 100))
    for i, (x, y, side) in enumerate([(40, 60, 260), (380, 120, 150), (600, 80, 110), (620, 380, 80)]):
        one = face.resize((side, int(side * 1.15)))
        canvas.paste(one.transpose(Image.ROTATE_90) if i in turned else one, (x, y))
    return np.asarray(canvas)


def _close_up(astronaut: np.ndarray, share: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The portrait cut to ``share`` of its face box's side around the face's centre and scaled to
    ``size`` px: a close-up whose face fills the frame (or overflows it, under 1); with the portrait's
    landmarks in its pixels."""
    (box, _, pts), = RetinaFaceDetector().detect(astronaut)
    cx, cy, half = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, share * max(box[2] - box[0], box[3] - box[1]) / 2
    x0, y0 = int(cx - half), int(cy - half)
    crop = astronaut[y0:int(cy + half), x0:int(cx + half)]
    k = size / crop.shape[1]
    return np.asarray(Image.fromarray(crop).resize((size, size), Image.BICUBIC)), (pts - (x0, y0)) * k


def test_a_face_filling_the_frame_is_found_once_by_the_close_up_pass(astronaut):
    """A close-up (the face overflowing a 1024 px frame: ~600 px on the 640 px copy, beyond RetinaFace's
    anchors) is found as three overlapping "faces"; the close-up pass finds the whole face on the photo
    shrunk, once, with landmarks where the portrait's are — and the model reads it as the portrait. A face
    so close that the first pass finds nothing gets the same look. A small face beside the close-up stays a
    face of its own."""
    from agegender.predictor import Predictor

    image, pts = _close_up(astronaut, 0.6, 1024)
    assert len(RetinaFaceDetector(close_up=False).detect(image)) >= 2
    (box, _, found), = RetinaFaceDetector().detect(image)
    eyes = float(np.hypot(*(pts[1] - pts[0])))
    assert np.abs(found - pts).max() < 0.15 * eyes
    (face,) = Predictor.default().predict_array(image).faces
    assert (face.answer.to_dict()["age_group"], face.answer.to_dict()["gender"]) == ("25-32", "f")
    # closer still (eyes, nose and mouth fill the frame): the first pass finds nothing, the close-up look the face
    closer, at = _close_up(astronaut, 0.3, 1024)
    assert RetinaFaceDetector(close_up=False, upright=False).detect(closer) == []
    (_, _, found), = RetinaFaceDetector().detect(closer)
    assert np.abs(found - at).max() < 0.35 * float(np.hypot(*(at[1] - at[0])))
    wide = np.zeros((1024, 1280, 3), np.uint8) + 100
    wide[:, :1024] = image
    wide[400:570, 1110:1260] = np.asarray(Image.fromarray(astronaut).crop((150, 30, 300, 200)).resize((150, 170)))
    faces = RetinaFaceDetector().detect(wide)
    assert len(faces) == 2 and sum(b[0] > 1024 for b, _, _ in faces) == 1, [b for b, _, _ in faces]


def test_a_close_up_lying_turned_is_one_face(astronaut):
    """The close-up turned sideways or upside down (its EXIF orientation lost): searched upright at full size,
    the face is too large for the anchors again and came back as two or three faces (parts of it); the
    close-up pass in the photo's turn finds it once, with the upright photo's landmarks."""
    image, pts = _close_up(astronaut, 0.6, 1024)
    eyes = float(np.hypot(*(pts[1] - pts[0])))
    for k in (1, 2, 3):
        turned = np.ascontiguousarray(np.rot90(image, k))
        (_, _, found), = RetinaFaceDetector().detect(turned)
        assert np.abs(unturn(found, k, 1024, 1024) - pts).max() < 0.15 * eyes, k


def test_a_close_up_the_first_pass_reads_whole_keeps_its_landmarks(astronaut):
    """A portrait whose face fills two thirds of a 640 px photo sets off the close-up pass, but the first
    pass saw the face whole (its eyes where the whole face's are): its detection is kept exactly, and a
    face under CLOSE_UP_SIDE px on the copy costs no pass at all."""
    image, _ = _close_up(astronaut, 1.5, 640)
    det = RetinaFaceDetector()
    runs = []
    run = det._run
    det._run = lambda small, *a: runs.append(small.shape[:2]) or run(small, *a)
    (box, score, pts), = det.detect(image)
    assert runs == [(640, 640), (320, 320)]  # the first pass, then the close-up look at half the copy's size
    (box0, score0, pts0), = RetinaFaceDetector(close_up=False).detect(image)
    assert box == box0 and score == score0 and np.array_equal(pts, pts0)
    runs.clear()
    det.detect(astronaut)  # its face is ~120 px
    assert runs == [(512, 512)]


def test_a_photo_whose_faces_lie_turned_is_searched_turned(astronaut):
    """A group photo turned sideways or upside down: RetinaFace finds only some of its faces (2 or 3 of 4); the
    ones it finds lie turned the same way, so the photo is searched again turned upright and every face comes
    back with the upright photo's landmarks. A face on its side among upright ones turns nothing else, and an
    upright face that a second look confirms keeps its first landmarks exactly."""
    group = _group(astronaut)
    h, w = group.shape[:2]
    upright = RetinaFaceDetector().detect(group)
    assert len(upright) == 4 and min(s for _, s, _ in upright) < 0.99  # the smallest face gets a second look...
    assert [np.array_equal(a[2], b[2]) for a, b in zip(upright, RetinaFaceDetector(upright=False).detect(group))] == [True] * 4
    eyes = min(float(np.hypot(*(p[1] - p[0]))) for *_, p in upright)
    for k in (1, 2, 3):
        turned = np.ascontiguousarray(np.rot90(group, k))
        assert len(RetinaFaceDetector(upright=False).detect(turned)) < 4, k
        found = RetinaFaceDetector().detect(turned)
        assert len(found) == 4, k
        for _, _, ref in upright:  # each face, its landmarks the upright photo's, turned
            assert min(np.abs(unturn(p, k, w, h) - ref).max() for *_, p in found) < 0.1 * eyes, k
    mixed = _group(astronaut, turned=(1,))
    found, first = RetinaFaceDetector().detect(mixed), RetinaFaceDetector(upright=False).detect(mixed)
    assert len(found) == len(first) == 4
    for (box, _, pts), (_, _, before) in zip(found, first):
        if box[0] > 370 and box[2] < 560:  # the face on its side (its top to the left): mouth right of the eyes
            assert pts[3:, 0].mean() > pts[:2, 0].mean() + 0.5 * np.hypot(*(pts[1] - pts[0]))
        else:
            assert np.array_equal(pts, before)


def test_unturn_maps_points_back_through_quarter_turns():
    a = np.zeros((30, 50))
    a[7, 12] = 1
    for k in range(4):
        i, j = np.argwhere(np.rot90(a, k))[0]
        assert np.allclose(unturn(np.array([[j + 0.5, i + 0.5]]), k, 50, 30), [[12.5, 7.5]])


@pytest.mark.parametrize("size,padding", [(32, 0.2), (64, 0.2), (150, 0.25), (112, 0.5)])
def test_chip_size_and_margin(astronaut, retina, size, padding):
    f = retina.faces(astronaut)[0]
    chip = retina.chip(astronaut, f, size, padding)
    assert chip.shape == (size, size, 3) and chip.dtype == np.uint8
    assert chip.std() > 10  # real content, not padding


def test_aligned_mode_skips_detection(astronaut):
    crop = astronaut[40:200, 160:290]
    faces = FacePipeline("aligned").faces(crop)
    assert len(faces) == 1 and faces[0].box == (0.0, 0.0, 130.0, 160.0)


def test_retinaface_box_conversion_is_taller_narrower_lower():
    x0, y0, x1, y1 = RetinaFaceDetector.to_dlib_box((100, 100, 195, 230))
    assert x1 - x0 == pytest.approx(100) and y1 - y0 == pytest.approx(100)
    assert (y0 + y1) / 2 > 165


def test_large_photo_is_detected_on_a_downscaled_copy(astronaut, retina):
    big = np.asarray(Image.fromarray(astronaut).resize((2048, 2048)))
    faces = retina.faces(big)
    assert len(faces) == 1 and 700 < faces[0].box[0] < 880  # boxes come back in full-size pixels


def _one_per_spot(faces, spots) -> bool:
    """Each pasted portrait holds exactly one detected face centre (its face, not a duplicate)."""
    centres = [((f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2) for f in faces]
    return len(centres) == len(spots) and all(sum(_inside(c, s) for c in centres) == 1 for s in spots)


def test_small_faces_in_a_phone_photo_are_found_by_the_second_pass(phone_photo):
    """A 12-megapixel photo seen at 640 px hides faces under ~100 px; the second pass at 1280 finds them."""
    image, spots = phone_photo(0.6)  # faces ~57 px wide in 4032: ~9 px on the 640 px copy
    assert FacePipeline("retinaface", small_faces=False).faces(image) == []
    faces = FacePipeline("retinaface").faces(image)
    assert _one_per_spot(faces, spots)
    assert all(35 < f.box[2] - f.box[0] < 80 for f in faces)  # boxes in the photo's own pixels


def test_faces_both_passes_find_are_kept_once(phone_photo):
    image, spots = phone_photo(1.0)  # faces ~95 px: ~15 px on the 640 px copy, found there and at 1280
    assert _one_per_spot(FacePipeline("retinaface", small_faces=False).faces(image), spots)
    assert _one_per_spot(FacePipeline("retinaface").faces(image), spots)


def test_which_photos_get_the_small_face_pass(phone_photo, astronaut, monkeypatch):
    """Up to 1.5× the detect size: one pass; over three times: always two; in between (a messenger's 1280
    or 1600 px photo) the second only when the first finds no face or a small one (under 64 px on its copy).
    A detect size under the default's counts "in between" from the default's (960 px)."""
    det = RetinaFaceDetector(threads=1, upright=False, close_up=False, rescue=False)  # no turned, close-up or second looks counted
    seen = []
    run = det._run
    monkeypatch.setattr(det, "_run", lambda small, *a: seen.append(small.shape[:2]) or run(small, *a))
    image, _ = phone_photo(0.4, size=(960, 720))  # faces too small to find
    det.detect(image)
    assert seen == [(480, 640)]  # 1.5× 640: one copy, at 640 px
    for size in ((1280, 960), (1920, 1440), (2000, 1500)):
        seen.clear()
        det.detect(np.asarray(Image.fromarray(image).resize(size)))
        assert seen == [(480, 640), (960, 1280)]  # larger, and no face on the first copy: the 1280 px one too
    seen.clear()
    det.detect(np.asarray(Image.fromarray(astronaut).resize((1600, 1600))))  # a portrait: its face ~300 px
    assert seen == [(640, 640)]
    # A smaller copy (--detect-size 320, chosen for speed): "in between" still means 960–1920 px, not 480–960 —
    # the bundled 512 px portrait (its face ~58 px on the 320 px copy) took a second pass on an upscaled 640 px copy.
    fast = RetinaFaceDetector(threads=1, max_side=320, upright=False, close_up=False, rescue=False)
    run_fast = fast._run
    monkeypatch.setattr(fast, "_run", lambda small, *a: seen.append(small.shape[:2]) or run_fast(small, *a))
    for photo, copies, found in ((astronaut, [(320, 320)], 1), (image, [(240, 320)], 0),
                                 (np.asarray(Image.fromarray(image).resize((1280, 960))), [(240, 320), (480, 640)], 3)):
        seen.clear()
        assert len(fast.detect(photo)) == found  # the 960 px group's faces are too small for 320 px, as the option says
        assert seen == copies


def test_small_faces_in_messenger_sized_photos_are_found_by_the_second_pass(phone_photo):
    """A group photo as a messenger sends it (1600×1200): faces ~28 px wide, ~11 px on the 640 px copy —
    lost there, found by the second pass at 1280 px; ~38 px wide, two of three found on the first copy, and
    being small, the second pass finds the third. At 1024×768, faces ~18 px wide: found on a copy twice the
    first's (1280 px, larger than the photo itself)."""
    for scale, first, size in ((0.3, 0, (1600, 1200)), (0.4, 2, (1600, 1200)), (0.2, 0, (1024, 768))):
        image, spots = phone_photo(scale, size=size)
        assert len(FacePipeline("retinaface", small_faces=False, rescue=False).faces(image)) == first
        assert _one_per_spot(FacePipeline("retinaface").faces(image), spots)


def test_a_turned_phone_photo_of_small_faces_is_searched_turned_on_its_larger_copies(phone_photo, monkeypatch):
    """Group photos turned by an app that dropped their EXIF orientation: no pass finds their faces lying on
    their side. A messenger's 1600×1200 with faces ~48 px: ~10 px on a 320 px copy searched turned, none found;
    a photo that got the small-face pass is searched turned on the 640 px copy itself (~19 px), and all three come
    back, in the photo's own pixels. A 2300×1700 one with faces ~43 px: ~12 px even at 640 px, so no turn shows a
    face there; its best look under the score threshold points to the turn, and the 1280 px copy searched in that
    turn alone (not in all three) finds them. A small photo is still searched turned at 320 px. (Without the second
    looks at faces scored low, which find some of these faces lying turned and so give the photo's turn away.)"""
    det = RetinaFaceDetector(threads=1, rescue=False)
    seen = []
    run = det._run
    monkeypatch.setattr(det, "_run", lambda small, *a: seen.append(max(small.shape[:2])) or run(small, *a))
    for scale, size in ((0.5, (1600, 1200)), (0.45, (2300, 1700))):
        image, spots = phone_photo(scale, size=size)
        h, w = image.shape[:2]
        for k in (1, 2, 3):
            turned = np.ascontiguousarray(np.rot90(image, k))
            assert RetinaFaceDetector(threads=1, upright=False, rescue=False).detect(turned) == []
            seen.clear()
            found = det.detect(turned)
            back = [SimpleNamespace(box=unturn_box(box, k, w, h)) for box, _, _ in found]  # in the photo's pixels
            assert _one_per_spot(back, spots), (size, k, found)
            # 640: the first pass and three turns (none searched twice); 1280: the upright pass, then in one turn only
            assert (seen.count(640), seen.count(1280)) == (4, 2), (size, k, seen)
    seen.clear()
    det.detect(np.full((600, 800, 3), 128, np.uint8))  # no face, no small-face pass: turned at 320 px
    assert seen == [640, 320, 320, 320, 320]  # the first pass, the close-up look (half the copy), three turns


def test_merged_passes_keep_the_best_of_overlapping_boxes():
    a = ((0.0, 0.0, 100.0, 100.0), 0.9, None)
    b = ((5.0, 5.0, 105.0, 105.0), 0.95, None)   # the same face from the other pass, surer
    c = ((300.0, 0.0, 340.0, 40.0), 0.6, None)   # another face
    assert merge_detections([a, c, b], 0.4) == [b, c]


def test_detection_benchmark_counts_faces_found_by_size(astronaut, tmp_path):
    """`bench detect`: real detection on scenes pasted from face crops; the phone-sized scenes show what
    the small-face pass finds that one pass does not (3 crops in the folder are enough)."""
    from agegender.bench import detection

    for k in range(3):
        Image.fromarray(astronaut).crop((150, 30, 300, 200)).save(tmp_path / f"face{k}.jpg")
    rows = detection.run(tmp_path, n_scenes=4, detectors=("retinaface",), small_faces=(False, True))
    by = {(r["detector"].split(", ")[1], r["suite"].split()[0]): r for r in rows}
    assert len(rows) == 12 and by["one pass", "portrait"]["found_rate"] == 1.0
    one, two = by["one pass", "phone"], by["small-face pass", "phone"]
    assert one["faces"] == two["faces"] >= 3 and two["found"] > one["found"]
    sent = by["small-face pass", "messenger"]  # the phone scenes at 1600 px: the second pass finds faces there too
    assert sent["faces"] == two["faces"] and sent["found"] > by["one pass", "messenger"]["found"]
    assert by["small-face pass", "web"]["found"] > by["one pass", "web"]["found"]
    assert one["size_thirds"] == ["40-93", "94-146", "147-200"] and len(two["found_by_size"]) == 3
    assert two["false_positives"] == 0
    # a lower score threshold (studies of masked faces): its own rows, finding at least what 0.5 finds
    low = detection.run(tmp_path, n_scenes=4, detectors=("retinaface",), score_thresholds=(0.5, 0.05))
    assert [r["detector"] for r in low] == ["retinaface"] * 6 + ["retinaface, score ≥ 0.05"] * 6
    assert all(b["found"] >= a["found"] and b["faces"] == a["faces"] for a, b in zip(low[:6], low[6:]))
    assert low[2]["found"] == two["found"]  # 0.5 is the product's threshold: the same as the default row
    # photos with no face (--faceless): four more rows, no faces, found_rate undefined; the other scenes unchanged
    rows = detection.run(tmp_path, n_scenes=4, detectors=("retinaface",), faceless=True)
    assert [(r["suite"], r["faces"], r["found"]) for r in rows[:6]] == [(r["suite"], r["faces"], r["found"]) for r in low[:6]]
    assert [r["suite"] for r in rows[6:]] == ["faceless 4032x3024", "faceless 1600x1200", "faceless 1024x768", "faceless 800x600"]
    assert all(r["faces"] == r["found"] == 0 and r["found_rate"] is None and r["scenes"] == 1 for r in rows[6:])
    # the same scenes turned by a random quarter (EXIF lost): the upright pass finds the turned portraits, and
    # on scenes as they are it finds what no pass finds
    rows = detection.run(tmp_path, n_scenes=4, detectors=("retinaface",), turned=True, uprights=(False, True))
    by = {(r["detector"], r["suite"].split(" ")[0] + (" turned" if r["suite"].endswith("turned") else "")): r for r in rows}
    assert len(rows) == 24 and {d for d, _ in by} == {"retinaface, no upright pass", "retinaface, upright pass"}
    assert by["retinaface, upright pass", "portrait turned"]["found_rate"] == 1.0
    for suite in ("portrait", "group", "phone"):
        off, on = by["retinaface, no upright pass", suite], by["retinaface, upright pass", suite]
        assert on["found"] == off["found"] and on["faces"] == off["faces"] == by["retinaface, upright pass", suite + " turned"]["faces"]
        assert by["retinaface, upright pass", suite + " turned"]["found"] >= by["retinaface, no upright pass", suite + " turned"]["found"]
    assert sum(r["found"] for (d, suite), r in by.items() if suite.endswith("turned") and d.endswith(", upright pass")) > \
        sum(r["found"] for (d, suite), r in by.items() if suite.endswith("turned") and d.endswith("no upright pass"))
    # close-ups (the face fills the frame or overflows it): found as several faces without the close-up
    # pass, once with it; the other scenes' faces the same either way
    rows = detection.run(tmp_path, n_scenes=4, detectors=("retinaface",), close_ups=(False, True))
    by = {(r["detector"], r["suite"].split()[0]): r for r in rows}
    off, on = by["retinaface, no close-up pass", "close-up"], by["retinaface, close-up pass", "close-up"]
    assert on["found"] == on["faces"] == 2 and on["false_positives"] == 0 < off["false_positives"]
    assert all(by["retinaface, no close-up pass", k]["found"] == by["retinaface, close-up pass", k]["found"]
               for k in ("portrait", "group", "phone"))
    # small faces scored under the threshold (--rescue both): a second look adds faces, never loses one
    rows = detection.run(tmp_path, n_scenes=4, detectors=("retinaface",), rescues=(False, True))
    by = {(r["detector"].split(", ")[1], r["suite"].split()[0]): r for r in rows}
    assert {d for d, _ in by} == {"no second looks at small faces", "second looks at small faces"}
    assert all(by["second looks at small faces", k]["found"] >= by["no second looks at small faces", k]["found"]
               for k in ("portrait", "group", "phone", "messenger", "web", "close-up"))
    # photos that show no one (--faceless-from DIR), each at the phone's, messenger's and web's size and 800 px
    (tmp_path / "nobody").mkdir()
    for k, colour in enumerate(((40, 90, 160), (200, 180, 120))):
        Image.new("RGB", (300, 200), colour).save(tmp_path / "nobody" / f"plain{k}.png")
    rows = detection.run(tmp_path / "nobody", n_scenes=1, detectors=("retinaface",), faceless_dir=tmp_path / "nobody")
    nobody = [r for r in rows if r["suite"].startswith("faceless photos")]
    assert [r["suite"] for r in nobody] == [f"faceless photos (nobody), {s} px" for s in (4032, 1600, 1024, 800)]
    assert all(r["scenes"] == 2 and r["faces"] == r["found"] == r["false_positives"] == 0 for r in nobody)
    assert all(r["found_doubted"] == r["false_doubted"] == 0 for r in rows)  # the portrait's faces: none doubted
    # the second look's count: the colour wheel's false face, a false positive, doubted
    wheel = load_image(COLOUR_WHEEL)
    det = RetinaFaceDetector()
    found = det.detect(wheel)
    hits, false = detection.score_scene(detection.Scene(wheel, []), found)
    assert (hits, false) == ([], [0]) and detection.doubted(det, detection.Scene(wheel, []), found, false) == (0, 1)


COLOUR_WHEEL = Path(__file__).parent / "fixtures" / "nobody" / "colorwheel.png"


def _small_astronaut(astronaut, width: int = 23, at: tuple[int, int] = (300, 200),
                     beside: tuple[int, tuple[int, int]] | None = None) -> np.ndarray:
    """The portrait's head shrunk so its face is ``width`` px wide, on a plain 640×480 photo: a face far
    away that RetinaFace scores low (the conditions study's 20–28 px faces); ``beside``: another one, (its
    face's width, where), in the same photo."""
    head = Image.fromarray(astronaut).crop((131, 10, 320, 224))  # the face (RetinaFace: ~178–273 × 57–177) and around it
    canvas = Image.new("RGB", (640, 480), (120, 118, 110))
    for face_width, spot in ((width, at), *((beside,) if beside else ())):
        fw = round(head.width * face_width / 95)
        canvas.paste(head.resize((fw, round(head.height * fw / head.width)), Image.BICUBIC), spot)
    return np.asarray(canvas)


def test_a_false_face_on_a_picture_of_a_thing_is_doubted_by_its_second_look(retina):
    """RetinaFace scores a pattern on a colour wheel 0.67 — a face to it. Looked at again on its
    neighbourhood enlarged, the pattern is no face: its second look scores under DOUBT_LOOK, and the face
    carries that doubt (an Undefined answer, tests/test_builtin_model.py)."""
    from agegender.detectors import DOUBT_LOOK, DOUBT_SCORE

    (face,) = retina.faces(load_image(COLOUR_WHEEL))
    assert face.score < DOUBT_SCORE
    assert face.second_look is not None and face.second_look < DOUBT_LOOK
    assert face.doubt.startswith("not sure it is a face (detector 0.67; a second look")
    assert face.to_dict()["second_look"] == round(face.second_look, 4)


def test_real_faces_scored_low_are_found_again_by_the_second_look(astronaut, retina):
    """A face 23 px wide scores under DOUBT_SCORE, yet its neighbourhood enlarged (the face ~80 px) shows it
    clearly: no doubt. A face sure enough gets no second look; nor does one that the photo's edge cuts,
    whose box stops short of the edge — its neighbourhood, cut too, would not show it again."""
    from agegender.detectors import DOUBT_LOOK, DOUBT_SCORE, near_edge, upright_turn

    (small,) = retina.faces(_small_astronaut(astronaut))
    assert small.score < DOUBT_SCORE and small.second_look >= max(DOUBT_LOOK, 0.9) and small.doubt is None
    (portrait,) = retina.faces(astronaut)
    assert portrait.score >= DOUBT_SCORE and portrait.second_look is None and portrait.doubt is None
    assert near_edge((0, 10, 50, 60), 100, 100) and near_edge((10, 10, 100, 60), 100, 100)
    assert near_edge((2, 10, 42, 70), 100, 100) and not near_edge((4, 10, 44, 70), 100, 100)  # 5 % of 60 px: 3 px
    cut = np.full((480, 480, 3), 120, np.uint8)
    cut[100:400, :170] = astronaut[40:340, 230:400]  # the face's right part, the photo's left edge through it
    (face,) = retina.faces(cut)
    assert face.score < DOUBT_SCORE and 0 < face.box[0] and near_edge(face.box, 480, 480)
    assert face.second_look is None and face.doubt is None
    assert retina.detector.second_look(cut, face.box, face.landmarks) < DOUBT_LOOK  # what it would have been
    # a face upside down or on its side is looked at again turned upright by its landmarks: found surely, where
    # the look as it is (level landmarks) scores it far lower
    level = np.array([[0, 0], [1, 0], [0.5, 0.5], [0, 1], [1, 1]], float)
    for k in (1, 2, 3):
        turned = np.ascontiguousarray(np.rot90(_small_astronaut(astronaut, 50), k))
        (face,) = retina.faces(turned)
        assert upright_turn(face.landmarks) == (4 - k) % 4
        assert retina.detector.second_look(turned, face.box, face.landmarks) >= 0.99
    assert retina.detector.second_look(turned, face.box, level) < 0.8


def test_small_faces_scored_under_the_threshold_are_found_by_a_second_look(astronaut, retina):
    """The portrait's face 20 px wide scores 0.29 on the first pass — under the threshold, once simply missed
    (as 19 of 150 Black faces 40 px wide were, 4–8 of each other group: docs/FACES.md). Its second look
    (the neighbourhood enlarged, the face ~80 px) finds it surely: the face is found, with its own score and
    no doubt. A detector without the rescue misses it; on the colour wheel, whose candidates are patterns, the
    rescue adds nothing; and however many candidates a photo has, at most RESCUE_MAX get a look."""
    from agegender import detectors as D

    photo = _small_astronaut(astronaut, 20)
    (face,) = retina.faces(photo)
    assert face.score <= D.RETINA_SCORE_THRESHOLD and face.second_look >= 0.9 and face.doubt is None
    assert 290 <= face.box[0] < face.box[2] <= 330  # where the head was pasted (x 300, 20 px face)
    assert D.RetinaFaceDetector(rescue=False).detect(photo) == []
    assert len(retina.faces(load_image(COLOUR_WHEEL))) == 1
    # a crowd far away: 14 faces 16 px wide, none scored over the threshold; the best 10 get a look, and are found
    head = Image.fromarray(astronaut).crop((131, 10, 320, 224))
    small = head.resize((round(head.width * 16 / 95), round(head.height * 16 / 95)), Image.BICUBIC)
    crowd = Image.new("RGB", (640, 480), (120, 118, 110))
    for j in range(14):
        crowd.paste(small, (60 + 100 * (j % 6), 60 + 110 * (j // 6)))
    crowd = np.asarray(crowd)
    det = D.RetinaFaceDetector()
    looks, look = [], det._look
    det._look = lambda image, box, k: looks.append(box) or look(image, box, k)
    assert D.RetinaFaceDetector(rescue=False).detect(crowd) == []
    assert len(det.detect(crowd)) == len(looks) == D.RESCUE_MAX == 10


def test_small_faces_scored_low_in_a_photo_lying_turned_are_found_by_a_second_look(astronaut, retina):
    """A photo turned without its EXIF orientation: a small face lying turned scores low, and its landmarks
    (read as an upright face's) do not tell its turn. With no face found, a candidate not found again upright by
    its landmarks is looked at in the other turns: the portrait's face 20 px wide upside down is found, with
    landmarks standing the right way (once missed). With a larger face giving the photo's turn away, the photo
    is searched in that turn and its small faces scored low there get the second look too: the 20 px face
    beside a 60 px one is found in every turn, as in the upright photo (once only the 60 px face)."""
    from agegender import detectors as D

    upside_down = np.ascontiguousarray(np.rot90(_small_astronaut(astronaut, 20), 2))
    (face,) = retina.faces(upside_down)
    assert face.score <= D.RETINA_SCORE_THRESHOLD and face.doubt is None and upright_turn(face.landmarks) == 2
    x0, y0, x1, y1 = face.box  # within the head (40 × 45 px, pasted at 300, 200), upside down with the photo
    assert 640 - 340 <= x0 < x1 <= 640 - 300 and 480 - 245 <= y0 < y1 <= 480 - 200
    assert D.RetinaFaceDetector(rescue=False).detect(upside_down) == []
    photo = _small_astronaut(astronaut, 20, at=(400, 200), beside=(60, (100, 150)))
    for k in (0, 1, 2, 3):
        turned = np.ascontiguousarray(np.rot90(photo, k))
        found = retina.faces(turned)
        assert len(found) == 2 and all(upright_turn(f.landmarks) == (4 - k) % 4 for f in found), (k, found)
        assert sorted(f.width for f in found)[0] < 30  # the small face, not a part of the large one
        assert len(D.RetinaFaceDetector(rescue=False).detect(turned)) == 1


def test_a_small_photo_lying_turned_is_searched_on_the_detectors_copy_in_its_hinted_turn(astronaut):
    """A 640×480 photo (no small-face pass) turned, its one face 32 px wide: searched turned at 320 px it is
    16 px, found in no turn; its best look there gives the turn away, and the detector's own copy searched in that
    turn alone finds it — in every turn, standing the right way (once only in one of them)."""
    from agegender import detectors as D

    photo = _small_astronaut(astronaut, 32)
    missed = 0
    for k in (1, 2, 3):
        turned = np.ascontiguousarray(np.rot90(photo, k))
        ((box, score, pts),) = D.RetinaFaceDetector().detect(turned)
        assert score >= D.TURNED_HINT_SURE and upright_turn(pts) == (4 - k) % 4, (k, score)
        missed += D.RetinaFaceDetector(rescue=False).detect(turned) == []
    assert missed >= 2


def test_a_turned_group_too_small_for_the_detectors_copy_is_found_by_second_looks(phone_photo):
    """Groups turned without their EXIF orientation whose faces are too small to be scored over the threshold in
    any turn of the detector's copy (faces ~30 px in a 1600×1200 or 2300×1700 photo): once none was found. Now
    their candidates looked at in the other turns give the photo's turn away, or, when the finer copy searched
    in the turn of the best look finds faces scored under TURNED_HINT_SURE, a second look at them confirms the
    turn — and all three faces come back, where they are."""
    from agegender import detectors as D

    for scale, size, k in ((0.33, (2300, 1700), 1), (0.3, (1600, 1200), 2), (0.36, (2000, 1500), 3)):
        image, spots = phone_photo(scale, size=size)
        h, w = image.shape[:2]
        turned = np.ascontiguousarray(np.rot90(image, k))
        assert D.RetinaFaceDetector(rescue=False).detect(turned) == []
        found = D.RetinaFaceDetector().detect(turned)
        back = [SimpleNamespace(box=unturn_box(box, k, w, h)) for box, _, _ in found]  # in the photo's pixels
        assert len(found) == 3 and _one_per_spot(back, spots), (size, k, found)
