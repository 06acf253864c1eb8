"""Where a large job's images come from, streamed: local files, folders and globs, a manifest, or object
storage through fsspec (``s3://bucket/prefix/``, ``gs://…``, ``memory://…``).

Inputs are yielded one at a time as :class:`Source` — a name and where to read the bytes — so a listing
of millions of files is never held in memory, nor are the images: each is read by the worker that
predicts it. Folders and ``**`` globs are walked loop-safely (:mod:`agegender.paths`); remote
"folders" are walked prefix by prefix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from agegender.imaging import ImageError, os_problem, read_file
from agegender.inputs import IMAGE_SUFFIXES, PassedOver
from agegender.paths import glob_files, has_magic, walk_files

MANIFEST_SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True)
class Source:
    """One image to answer: ``name`` (what the output row says) and ``url`` (a local path or an fsspec
    URL); ``error`` when it could not even be listed."""

    name: str
    url: str
    error: str | None = None

    @property
    def remote(self) -> bool:
        return "://" in self.url and not self.url.startswith("file://")


def is_url(text: str) -> bool:
    return "://" in text


def _is_image(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES or name.lower().endswith(".ppm.bz2")


def iter_sources(args: Iterable[str], manifest_root: str | None = None,
                 passed_over: PassedOver | None = None) -> Iterator[Source]:
    """Every image the arguments name, lazily, in a stable order (folders sorted within each folder); the files
    a folder or prefix walk leaves out (no image name) are counted in ``passed_over``."""
    for a in args:
        if is_url(a):
            yield from _remote(a, passed_over)
            continue
        p = Path(a)
        if p.suffix.lower() in MANIFEST_SUFFIXES and p.is_file():
            yield from _manifest(p, manifest_root)
        elif p.is_dir():
            found = False
            errors: list[Source] = []

            def unreadable(where: str, e: OSError, errors=errors) -> None:
                errors.append(Source(where, where, os_problem(e, "folder")))

            for q in walk_files(p, unreadable):
                while errors:
                    yield errors.pop(0)
                if _is_image(q.name):
                    found = True
                    yield Source(str(q), str(q))
                elif passed_over is not None:
                    passed_over.add(q.name)
            yield from errors
            if not found and not errors:
                yield Source(a, a, "folder holds no image files")
        elif has_magic(a):
            errors2: list[Source] = []

            def unlistable(where: str, e: OSError, errors2=errors2) -> None:
                errors2.append(Source(where, where, os_problem(e, "folder")))

            matches = glob_files(a, unlistable)
            yield from errors2
            if not matches and not errors2:
                yield Source(a, a, "no file matches this pattern")
            for m in matches:
                yield Source(str(m), str(m))
        elif p.exists() or p.is_symlink():
            yield Source(a, a)
        else:
            yield Source(a, a, "no such file or folder")


def _manifest(path: Path, root: str | None) -> Iterator[Source]:
    """The image of every row of a manifest (``agegender data …``), in its order."""
    from agegender import manifest as mf

    m = mf.read(path)
    for r in m.records:
        full = str(Path(root) / r.path) if root else str(r.full_path)
        yield Source(full, full)


def _remote(url: str, passed_over: PassedOver | None = None) -> Iterator[Source]:
    """An fsspec URL: one object, a glob, or a prefix walked folder by folder."""
    try:
        import fsspec
    except ImportError:
        yield Source(url, url, "reading URLs needs fsspec (pip install 'agegender[batch]') and the storage's "
                     "own package (s3fs for s3://, gcsfs for gs://)")
        return
    try:
        fs, path = fsspec.core.url_to_fs(url)
        protocol = url.split("://", 1)[0]

        def full(p: str) -> str:
            return p if "://" in p else f"{protocol}://{p.lstrip('/') if protocol != 'file' else p}"

        if has_magic(path):
            for p in sorted(fs.glob(path)):
                if _is_image(p):
                    yield Source(full(p), full(p))
            return
        if fs.isfile(path):
            yield Source(url, url)
            return
        found = False
        for folder, _dirs, files in fs.walk(path):  # one prefix at a time, never the whole listing
            for f in sorted(files):
                if _is_image(f):
                    found = True
                    p = full(f"{folder.rstrip('/')}/{f}")
                    yield Source(p, p)
                elif passed_over is not None:
                    passed_over.add(f)
        if not found:
            yield Source(url, url, "no image files under this URL")
    except (OSError, ValueError, ImportError) as e:
        yield Source(url, url, f"cannot list this URL ({type(e).__name__}: {e})")


def read_source(src: Source) -> tuple[bytes, int | None, float | None]:
    """The image's bytes, size and modification time (seconds since the epoch), or an ImageError."""
    if not src.remote:
        path = src.url[len("file://"):] if src.url.startswith("file://") else src.url
        data = read_file(path, src.name)
        try:
            st = os.stat(path)
            return data, st.st_size, st.st_mtime
        except OSError:
            return data, len(data), None
    try:
        import fsspec

        fs, path = fsspec.core.url_to_fs(src.url)
        with fs.open(path, "rb") as f:
            data = f.read()
        info = fs.info(path)
        mtime = info.get("mtime") or info.get("LastModified") or info.get("created")
        mtime = mtime.timestamp() if hasattr(mtime, "timestamp") else (float(mtime) if mtime is not None else None)
        return data, len(data), mtime
    except FileNotFoundError:
        raise ImageError(src.name, "no such object") from None
    except (OSError, ValueError, ImportError) as e:
        raise ImageError(src.name, f"cannot read this object ({type(e).__name__}: {e})") from None
