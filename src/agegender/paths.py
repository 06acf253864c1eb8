"""Walking folders and matching globs so that each real file is visited once.

Symbolic links to folders are followed, but a folder already visited (by its device and inode) is
never entered again, so link loops (``ln -s . d/loop``) neither hang a walk nor repeat its files; a
file reached through several links is listed once, under the first path found. Folders that cannot
be read are reported, not silently skipped. Python's ``glob.glob(..., recursive=True)`` follows
links without such a check, which is why ``**`` patterns are matched here instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase
from pathlib import Path

MAGIC = "*?["


def has_magic(text: str) -> bool:
    return any(c in text for c in MAGIC)


def is_file(path: str | os.PathLike) -> bool:
    """``Path.is_file`` for names that come from label files: a name the system refuses (too long,
    a NUL byte, a loop) is simply not a file, instead of an exception."""
    try:
        return os.path.isfile(path)
    except (OSError, ValueError):
        return False


def walk_files(root: str | os.PathLike, on_error: Callable[[str, OSError], None] | None = None,
               max_depth: int | None = None) -> Iterator[Path]:
    """Every file under ``root``, each real file once, sorted folder by folder (depth first).

    ``on_error(path, error)`` hears of each folder that cannot be listed; ``max_depth`` (0 = only
    ``root`` itself) limits how deep the walk goes.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()

    def visit(folder: str, depth: int) -> Iterator[Path]:
        try:
            st = os.stat(folder)
        except OSError as e:
            if on_error:
                on_error(folder, e)
            return
        if (st.st_dev, st.st_ino) in seen_dirs:
            return
        seen_dirs.add((st.st_dev, st.st_ino))
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            if on_error:
                on_error(folder, e)
            return
        subdirs = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()  # follows links
                is_file = not is_dir and entry.is_file()
            except OSError:  # a link loop or a vanished entry: neither file nor folder
                continue
            if is_dir:
                subdirs.append(entry.path)
            elif is_file:
                try:
                    fst = entry.stat()
                except OSError:
                    yield Path(entry.path)  # unreadable metadata: let the reader report it
                    continue
                key = (fst.st_dev, fst.st_ino)
                if key not in seen_files:
                    seen_files.add(key)
                    yield Path(entry.path)
        if max_depth is None or depth < max_depth:
            for d in subdirs:
                yield from visit(d, depth + 1)

    yield from visit(os.fspath(root), 0)


def _match(parts: list[str], pats: list[str]) -> bool:
    """Path segments against pattern segments; ``**`` matches any number of folders (not hidden ones)."""
    if not pats:
        return not parts
    if pats[0] == "**":
        for i in range(len(parts) + 1):
            if _match(parts[i:], pats[1:]):
                return True
            if i < len(parts) and parts[i].startswith("."):
                return False
        return False
    if not parts:
        return False
    if parts[0].startswith(".") and not pats[0].startswith("."):
        return False  # as glob: wildcards do not match hidden names
    return fnmatchcase(parts[0], pats[0]) and _match(parts[1:], pats[1:])


def glob_files(pattern: str, on_error: Callable[[str, OSError], None] | None = None) -> list[Path]:
    """The files matching ``pattern`` (``*``, ``?``, ``[...]`` within a name; ``**`` across folders), sorted."""
    parts = pattern.replace(os.sep, "/").split("/")
    fixed = 0
    while fixed < len(parts) - 1 and not has_magic(parts[fixed]):
        fixed += 1
    base_parts, pats = parts[:fixed], [p for p in parts[fixed:] if p != ""]
    base = "/".join(base_parts) if base_parts else "."
    if base_parts == [""]:
        base = "/"
    if not has_magic("/".join(pats)):
        p = Path(pattern)
        return [p] if p.is_file() else []
    depth = None if "**" in pats else len(pats) - 1
    out = []
    for f in walk_files(base, on_error, max_depth=depth):
        rel = os.path.relpath(f, base).replace(os.sep, "/").split("/")
        if _match(rel, pats):
            out.append(f if base != "." else Path(os.path.relpath(f, ".")))
    return sorted(out)
