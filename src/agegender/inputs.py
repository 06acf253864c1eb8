"""What ``agegender predict`` accepts: files, folders (recursive), globs, videos and a webcam.

Everything becomes a stream of ``(source name, RGB array | path | error)`` items so the predictor
handles them the same way and one bad input never stops the batch.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agegender.imaging import os_problem
from agegender.paths import glob_files, has_magic, walk_files

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jfif", ".jpe", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif", ".hif",
                  ".avif", ".ppm", ".pgm"}  # .jfif/.jpe: JPEGs as browsers on Windows save them
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


@dataclass
class Item:
    source: str
    path: Path | None = None          # an image file to read
    frame: np.ndarray | None = None   # a decoded video / webcam frame (RGB)
    error: str | None = None          # could not even be listed / opened


@dataclass
class PassedOver:
    """The files a folder search leaves out because their names are no image's or video's (notes, PDFs, …):
    how many, and the first few names — so a caller can say so instead of passing them over in silence.
    A file named explicitly is always tried, whatever its name."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    #: folder clutter nobody means as a photo: not worth a word
    QUIET = frozenset({"thumbs.db", "desktop.ini"})

    def add(self, name: str) -> None:
        if name.startswith(".") or name.lower() in self.QUIET:
            return
        self.count += 1
        if len(self.examples) < 5:
            self.examples.append(name)

    def message(self) -> str | None:
        if not self.count:
            return None
        names = ", ".join(self.examples) + (", …" if self.count > len(self.examples) else "")
        return (f"passed over {self.count} file(s) in the folder(s) whose names are no image's or video's ({names}); "
                "name such a file to try it anyway")


def expand(args: list[str], passed_over: PassedOver | None = None) -> list[Item]:
    """Files as given; folders searched recursively for images and videos; ``*``/``?``/``**`` patterns
    matched. Each real file is listed once (link loops are not followed twice, see :mod:`agegender.paths`);
    whatever cannot be listed or read becomes an item with an ``error`` in plain words; the files a folder
    search leaves out are counted in ``passed_over``."""
    items: list[Item] = []

    def unreadable(where: str, e: OSError) -> None:
        items.append(Item(where, error=os_problem(e, "folder")))

    for a in args:
        p = Path(a)
        try:
            p.stat()
            exists = True
        except OSError as e:
            exists = False
            if e.errno != errno.ENOENT or p.is_symlink():
                items.append(Item(a, error=os_problem(e) if e.errno != errno.ENOENT else "broken symbolic link: what it points to does not exist"))
                continue
        if exists and p.is_dir():
            start = len(items)
            found = []
            for q in walk_files(p, unreadable):
                if q.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                    found.append(q)
                elif passed_over is not None:
                    passed_over.add(q.name)
            if not found and len(items) == start:
                items.append(Item(a, error="folder holds no image or video files"))
            items.extend(Item(str(q), path=q) for q in found)
        elif exists:
            items.append(Item(a, path=p))
        elif has_magic(a):
            start = len(items)
            matches = glob_files(a, unreadable)
            if not matches and len(items) == start:
                items.append(Item(a, error="no file matches this pattern"))
            items.extend(Item(str(m), path=m) for m in matches)
        else:
            items.append(Item(a, error="no such file or folder"))
    return items


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def video_frames(path: Path, every: int = 0, fps: float = 0.0, limit: int = 0) -> Iterator[Item]:
    """Frames of a video: every ``every``-th frame, or ``fps`` frames per second (default 1 fps)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        yield Item(str(path), error="cannot open video (unsupported codec or not a video)")
        return
    native = cap.get(cv2.CAP_PROP_FPS) or 25.0
    step = every if every > 0 else max(1, round(native / (fps or 1.0)))
    i = kept = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if i % step == 0:
                yield Item(f"{path}#frame={i}@{i / native:.2f}s", frame=np.ascontiguousarray(frame[:, :, ::-1]))
                kept += 1
                if limit and kept >= limit:
                    break
            i += 1
    finally:
        cap.release()
    if i == 0:
        yield Item(str(path), error="video has no readable frames")


def webcam_frames(index: int = 0, count: int = 10, every: int = 15) -> Iterator[Item]:
    """``count`` frames from a webcam, one every ``every`` frames; a clear error when there is none."""
    import cv2

    cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        yield Item(f"webcam:{index}", error="no webcam found (could not open camera device)")
        return
    try:
        i = kept = 0
        while kept < count:
            ok, frame = cap.read()
            if not ok:
                yield Item(f"webcam:{index}", error="webcam stopped delivering frames")
                return
            if i % every == 0:
                yield Item(f"webcam:{index}#frame={i}", frame=np.ascontiguousarray(frame[:, :, ::-1]))
                kept += 1
            i += 1
    finally:
        cap.release()
