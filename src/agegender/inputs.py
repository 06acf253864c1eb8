"""What ``agegender predict`` accepts: files, folders (recursive), globs, videos and a webcam.

Everything becomes a stream of ``(source name, RGB array | path | error)`` items so the predictor
handles them the same way and one bad input never stops the batch.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agegender.imaging import os_problem
from agegender.paths import glob_files, has_magic, walk_files

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif", ".hif", ".avif", ".ppm",
                  ".pgm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


@dataclass
class Item:
    source: str
    path: Path | None = None          # an image file to read
    frame: np.ndarray | None = None   # a decoded video / webcam frame (RGB)
    error: str | None = None          # could not even be listed / opened


def expand(args: list[str]) -> list[Item]:
    """Files as given; folders searched recursively for images and videos; ``*``/``?``/``**`` patterns
    matched. Each real file is listed once (link loops are not followed twice, see :mod:`agegender.paths`);
    whatever cannot be listed or read becomes an item with an ``error`` in plain words."""
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
            found = [q for q in walk_files(p, unreadable) if q.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES]
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
