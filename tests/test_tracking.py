"""Faces followed across frames, steadied answers, and the age check's rule (issue #14)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from agegender import agecheck, labels
from agegender.faces import Face
from agegender.predictor import FaceAnswer
from agegender.tracking import MIN_FRAMES, FaceTracker


def _face(x0, y0, size=100, age=4, p_age=0.9, gender=1, second_look=None):
    a = np.full(8, (1 - p_age) / 7)
    a[age] = p_age
    g = np.array([0.05, 0.95]) if gender else np.array([0.95, 0.05])
    face = Face((x0, y0, x0 + size, y0 + size), 0.99 if second_look is None else 0.6, np.zeros((5, 2)), second_look=second_look)
    return FaceAnswer(face, labels.doubted(labels.decode(a, g), face.doubt))


def test_ids_follow_small_moves_and_a_new_face_gets_a_new_id():
    t = FaceTracker(labels.Thresholds(0.5, 0.5))
    ids = [tid for tid, _ in t.update([_face(10, 10)])]
    for step in range(1, 6):
        ids += [tid for tid, _ in t.update([_face(10 + 6 * step, 10 + 3 * step)])]
    assert ids == [1] * 6
    both = t.update([_face(46, 25), _face(300, 40)])  # a second face enters
    assert [tid for tid, _ in both] == [1, 2]
    swapped = t.update([_face(300, 42), _face(48, 26)])  # order in the frame does not matter
    assert [tid for tid, _ in swapped] == [2, 1]


def test_a_track_ends_after_being_missed_too_long():
    from agegender.tracking import MAX_MISSING

    t = FaceTracker(labels.Thresholds())
    t.update([_face(10, 10)])
    for _ in range(MAX_MISSING + 1):
        t.update([])
    assert t.update([_face(10, 10)])[0][0] == 2


def test_a_whole_video_answers_each_track_from_all_its_frames():
    """When a video ends, each track — ended ones too — is answered from the mean of all its frames: a face
    seen in fewer frames than steadying needs is answered, and a face whose first frames said 25-32 and
    its last WINDOW frames 38-43 is read on all of them, not only the recent ones."""
    from agegender.tracking import MAX_MISSING, WINDOW

    t = FaceTracker(labels.Thresholds(0.5, 0.5))
    assert t.update([_face(10, 10, gender=0)])[0][1].undefined  # steadying
    for _ in range(MAX_MISSING + 1):
        t.update([])  # track 1 ends after one frame
    for i in range(3 * WINDOW):
        t.update([_face(300, 40, age=4 if i < 2 * WINDOW else 5, p_age=0.8)])
    assert t.update([_face(300, 40, age=5, p_age=0.8)])[0][1].age == 5  # the recent frames say 38-43
    (first, one), (second, many) = t.whole()
    assert (first.id, first.frames, one.undefined, one.age, one.gender) == (1, 1, False, 4, 0)
    assert (second.id, second.frames, many.age) == (2, 3 * WINDOW + 1, 4)  # most of its frames said 25-32
    assert np.allclose(many.age_probs[4], (2 * WINDOW * 0.8 + (WINDOW + 1) * 0.2 / 7) / (3 * WINDOW + 1))


def test_answers_are_steadied_over_recent_frames():
    t = FaceTracker(labels.Thresholds(0.5, 0.5))
    answers = [t.update([_face(10, 10)])[0][1] for _ in range(MIN_FRAMES - 1)]
    assert all(a.undefined and "steadying" in a.reason for a in answers)
    assert t.update([_face(10, 10)])[0][1].age == 4
    # one frame that says 38-43 does not flip the steadied answer
    flick = t.update([_face(11, 10, age=5, p_age=0.6)])[0][1]
    assert flick.age == 4 and not flick.undefined
    # a face that keeps changing its mind is Undefined, not flickering
    t2 = FaceTracker(labels.Thresholds(0.5, 0.5))
    out = [t2.update([_face(10, 10, age=3 + i % 2, p_age=0.55)])[0][1] for i in range(8)]
    assert all(a.undefined for a in out[MIN_FRAMES:])


def test_a_face_that_may_be_none_is_undefined_while_doubted_and_in_the_whole_answer_when_mostly():
    """A face whose second look did not find it again (faces.Face.doubt) is Undefined in the frames it is
    doubted in, its track steadied answer too; a whole video's answer is Undefined for it when most of its
    frames doubted it."""
    t = FaceTracker(labels.Thresholds(0.5, 0.5))
    for _ in range(MIN_FRAMES):
        t.update([_face(10, 10)])
    assert t.update([_face(10, 10)])[0][1].age == 4
    doubted = t.update([_face(10, 10, second_look=0.1)])[0][1]
    assert doubted.undefined and doubted.reason.startswith("not sure it is a face") and doubted.best_age == 4
    assert not t.update([_face(10, 10)])[0][1].undefined  # seen clearly again
    (_, whole), = t.whole()
    assert not whole.undefined  # 1 doubted frame of MIN_FRAMES + 3
    t2 = FaceTracker(labels.Thresholds(0.5, 0.5))
    for i in range(5):
        t2.update([_face(10, 10, second_look=0.1 if i < 3 else 0.9)])
    (track, whole), = t2.whole()
    assert whole.undefined and whole.reason.endswith("in 3 of 5 frames") and track.doubted == 3


def test_the_age_check_rule():
    check = agecheck.AgeCheck(minimum=4, over=0.9, under=0.8)  # at least 25-32
    p = np.zeros(8)
    p[[4, 5]] = [0.5, 0.45]
    assert check.decide(p) == agecheck.OVER          # 0.95 at or above 25-32
    p = np.zeros(8)
    p[[3, 4]] = [0.85, 0.15]
    assert check.decide(p) == agecheck.UNDER         # 0.85 below
    p = np.zeros(8)
    p[[3, 4]] = [0.4, 0.6]
    assert check.decide(p) == agecheck.NOT_SURE      # neither strict enough: check ID
    with pytest.raises(ValueError, match="youngest group"):
        agecheck.from_metadata({}, "0-2")


def test_thresholds_keep_false_over_at_most_one_percent_on_the_data_they_were_chosen_on():
    rng = np.random.default_rng(0)
    years = rng.uniform(5, 70, 4000)
    truth = np.array([labels.nearest_age_group(y) for y in years])
    noisy = np.clip(truth + rng.integers(-1, 2, 4000), 0, 7)  # a model one group off a third of the time
    probs = np.full((4000, 8), 0.02)
    probs[np.arange(4000), noisy] = 0.86
    y_age = np.array([labels.age_group_of_years(y) if labels.age_group_of_years(y) is not None else -1 for y in years])
    for m in range(1, 8):
        check = agecheck.choose(probs, y_age, m, years)
        r = agecheck.rates(check, probs, y_age, years)
        assert r["false_over"] is None or r["false_over"] <= agecheck.MAX_FALSE_OVER + 1e-9  # None: nobody below
    below, above = agecheck.sides(4, y_age, years)
    assert below.sum() == (years < 25).sum() and above.sum() == (years >= 25).sum()  # gap ages count by their years


def test_videos_get_tracks_steadied_answers_and_the_age_check(tmp_path, astronaut):
    cv2 = pytest.importorskip("cv2")
    clip = tmp_path / "clip.avi"
    out = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (480, 360))
    face = cv2.resize(astronaut[20:420, 100:400], (180, 240))
    for i in range(12):
        frame = np.full((360, 480, 3), 90, np.uint8)
        frame[60:300, 100 + 4 * i:280 + 4 * i] = face
        out.write(np.ascontiguousarray(frame[:, :, ::-1]))
    out.release()
    r = subprocess.run([sys.executable, "-m", "agegender", "predict", str(clip), "--every", "2", "--json", "--fast",
                        "--age-check", "15-20"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    *frames, whole = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(frames) == 6 and all(len(f["faces"]) == 1 for f in frames)
    # after its frames, the video's answer for each track, from all of the track's frames
    assert whole["source"] == f"{clip}#whole" and (whole["width"], whole["height"]) == (480, 360)
    (person,) = whole["faces"]
    assert (person["track"], person["frames"]) == (1, 6) and person["age_check"] in (agecheck.OVER, agecheck.UNDER, agecheck.NOT_SURE)
    faces = [f["faces"][0] for f in frames]
    assert {f["track"] for f in faces} == {1}
    assert all(f["age_check"] in (agecheck.OVER, agecheck.UNDER, agecheck.NOT_SURE) for f in faces)
    assert faces[0]["undefined"]  # too early to answer (steadying), or not sure
    steady = {(f["age_group"], f["gender"], f["undefined"]) for f in faces[MIN_FRAMES:]}
    assert len(steady) == 1  # no flicker once steadied


def test_a_phone_video_held_upright_is_read_upright():
    """An iPhone's video held upright (HEVC in QuickTime: the sensor's frames lie on their side and a display
    matrix turns them; tests/fixtures/video, scripts/make_phone_fixtures.py) is read upright, as a player
    shows it: 200×256 frames, the face found in each with its eyes above its mouth, read as the portrait."""
    from pathlib import Path

    clip = Path(__file__).parent / "fixtures" / "video" / "phone-portrait.mov"
    r = subprocess.run([sys.executable, "-m", "agegender", "predict", str(clip), "--every", "1", "--json"],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    *frames, whole = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(frames) == 10 and all((f["width"], f["height"]) == (200, 256) and len(f["faces"]) == 1 for f in frames)
    assert whole["faces"][0]["frames"] == 10 and whole["faces"][0]["best_gender"] == "f"
    for f in frames:
        lm = f["faces"][0]["landmarks"]
        assert max(lm["left_eye"][1], lm["right_eye"][1]) < min(lm["mouth_left"][1], lm["mouth_right"][1]), lm
    assert (frames[-1]["faces"][0]["best_age_group"], frames[-1]["faces"][0]["best_gender"]) == ("25-32", "f")
