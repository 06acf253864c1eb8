"""Faces followed from frame to frame, and answers steadied over each face's recent frames.

One frame's answer flickers: a face at the edge of two age groups comes out 25-32, then 38-43, then
Undefined. A live view (the page's camera mode, ``agegender predict --webcam`` and videos) instead
follows each face — a detection joins the track whose last box it overlaps most (IoU) — and decides
on the mean of the track's last few probability distributions, with the same Undefined rule. A new
face starts a new track; a track not seen for a while ends. ``web/static/live.js`` runs the same
algorithm with the same constants on the phone (tests/test_tracking.py and the browser test).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from agegender import labels

#: A detection continues a track when their boxes overlap at least this much (intersection over union).
MIN_IOU = 0.3
#: Frames a track survives without being seen (a blink, a turned head) before it ends.
MAX_MISSING = 10
#: Frames whose distributions are averaged.
WINDOW = 8
#: Frames a track needs before it is answered at all (until then: Undefined, "steadying").
MIN_FRAMES = 3


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    id: int
    box: tuple[float, float, float, float]
    age: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    gender: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    years: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    frames: int = 0
    missing: int = 0

    def steady(self, thresholds: labels.Thresholds) -> labels.Answer:
        """The Undefined rule on the mean of the recent distributions (Undefined while steadying)."""
        age, gender = np.mean(self.age, axis=0), np.mean(self.gender, axis=0)
        answer = labels.decode(age, gender, thresholds)
        if self.frames < MIN_FRAMES and not answer.undefined:
            answer = labels.Answer(None, None, f"steadying ({self.frames} of {MIN_FRAMES} frames)",
                                   answer.age_probs, answer.gender_probs)
        if self.years:
            from dataclasses import replace

            answer = replace(answer, years=float(np.mean([y for y, _ in self.years])),
                             years_spread=float(np.mean([s for _, s in self.years])))
        return answer


class FaceTracker:
    """``update(faces)`` once per frame with that frame's :class:`~agegender.predictor.FaceAnswer` list →
    ``[(track id, steadied Answer)]`` in the same order."""

    def __init__(self, thresholds: labels.Thresholds):
        self.thresholds = thresholds
        self.tracks: list[Track] = []
        self._next = 1

    def update(self, faces) -> list[tuple[int, labels.Answer]]:
        pairs = sorted(((iou(t.box, f.face.box), ti, fi) for ti, t in enumerate(self.tracks) for fi, f in enumerate(faces)),
                       reverse=True)
        track_of: dict[int, Track] = {}
        used: set[int] = set()
        for overlap, ti, fi in pairs:
            if overlap < MIN_IOU:
                break
            if ti in used or fi in track_of:
                continue
            used.add(ti)
            track_of[fi] = self.tracks[ti]
        for fi in range(len(faces)):
            if fi not in track_of:
                track_of[fi] = Track(self._next, faces[fi].face.box)
                self._next += 1
                self.tracks.append(track_of[fi])
        seen = {id(t) for t in track_of.values()}
        for t in self.tracks:
            t.missing = 0 if id(t) in seen else t.missing + 1
        self.tracks = [t for t in self.tracks if t.missing <= MAX_MISSING]
        out = []
        for fi, f in enumerate(faces):
            t = track_of[fi]
            t.box = f.face.box
            t.age.append(np.asarray(f.answer.age_probs))
            t.gender.append(np.asarray(f.answer.gender_probs))
            if f.answer.years is not None:
                t.years.append((f.answer.years, f.answer.years_spread))
            t.frames += 1
            out.append((t.id, t.steady(self.thresholds)))
        return out
