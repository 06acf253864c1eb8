"""Faces followed from frame to frame, and answers steadied over each face's recent frames.

One frame's answer flickers: a face at the edge of two age groups comes out 25-32, then 38-43, then
Undefined. A live view (the page's camera mode, ``agegender predict --webcam`` and videos) instead
follows each face — a detection joins the track whose last box it overlaps most (IoU) — and decides
on the mean of the track's last few probability distributions, with the same Undefined rule. A new
face starts a new track; a track not seen for a while ends. ``web/static/live.js`` runs the same
algorithm with the same constants on the phone (tests/test_tracking.py and the browser test).

A video file also gets one answer per track when it ends (:meth:`FaceTracker.whole`): the Undefined rule
on the mean of all the track's frames — a short clip answers even when no track lasted the frames that
steadying needs, and a long one answers each face once.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from agegender import labels

if TYPE_CHECKING:
    from agegender.faces import Face

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
    face: Face | None = None  # the last detection (its box and landmarks), for the whole-video answer
    age_sum: np.ndarray | None = None  # all frames' distributions summed, for the whole-video answer
    gender_sum: np.ndarray | None = None
    years_sum: np.ndarray = field(default_factory=lambda: np.zeros(2))  # years, spread
    years_n: int = 0
    doubt: str | None = None  # the last frame's doubt that its face is one (faces.Face.doubt)
    doubted: int = 0  # frames whose face was doubted

    @property
    def mostly_doubted(self) -> bool:
        """Most of the track's frames doubted that its face is one: its whole answer is Undefined."""
        return 2 * self.doubted > self.frames

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
        return labels.doubted(answer, self.doubt)  # the face seen now may be none

    def whole(self, thresholds: labels.Thresholds) -> labels.Answer:
        """The Undefined rule on the mean of all the track's frames (no steadying: the video has ended)."""
        from dataclasses import replace

        answer = labels.decode(self.age_sum / self.frames, self.gender_sum / self.frames, thresholds)
        if self.years_n:
            years, spread = self.years_sum / self.years_n
            answer = replace(answer, years=float(years), years_spread=float(spread))
        doubt = f"{self.doubt or labels.NOT_A_FACE} in {self.doubted} of {self.frames} frames"
        return labels.doubted(answer, doubt if self.mostly_doubted else None)

    def add(self, answer: labels.Answer, doubt: str | None = None) -> None:
        """One more frame's distributions, into the recent window and the whole-track sums; ``doubt``: the
        frame's face may be none (faces.Face.doubt)."""
        self.doubt = doubt
        self.doubted += doubt is not None
        age, gender = np.asarray(answer.age_probs), np.asarray(answer.gender_probs)
        self.age.append(age)
        self.gender.append(gender)
        self.age_sum = age if self.age_sum is None else self.age_sum + age
        self.gender_sum = gender if self.gender_sum is None else self.gender_sum + gender
        if answer.years is not None:
            self.years.append((answer.years, answer.years_spread))
            self.years_sum = self.years_sum + (answer.years, answer.years_spread)
            self.years_n += 1
        self.frames += 1


class FaceTracker:
    """``update(faces)`` once per frame with that frame's :class:`~agegender.predictor.FaceAnswer` list →
    ``[(track id, steadied Answer)]`` in the same order."""

    def __init__(self, thresholds: labels.Thresholds):
        self.thresholds = thresholds
        self.tracks: list[Track] = []
        self.ended: list[Track] = []
        self._next = 1

    def whole(self) -> list[tuple[Track, labels.Answer]]:
        """Every track so far, ended or not, in the order they began, with its answer from all its frames."""
        return [(t, t.whole(self.thresholds)) for t in sorted(self.ended + self.tracks, key=lambda t: t.id)]

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
        self.ended += [t for t in self.tracks if t.missing > MAX_MISSING]
        self.tracks = [t for t in self.tracks if t.missing <= MAX_MISSING]
        out = []
        for fi, f in enumerate(faces):
            t = track_of[fi]
            t.box, t.face = f.face.box, f.face
            t.add(f.answer, f.face.doubt)
            out.append((t.id, t.steady(self.thresholds)))
        return out
