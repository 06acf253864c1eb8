"""Decode any image a user may hand us into an upright 8-bit RGB array, or fail with a clear message.

Handles JPEG/PNG/WebP/BMP/GIF (first frame)/TIFF, EXIF orientation, grayscale, CMYK, palette,
alpha (composited on white), 16-bit and float images, and refuses empty, truncated, corrupt and
non-image files and decompression bombs (an explicit pixel limit) with :class:`ImageError`, whose
message names the file and the problem.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Default pixel limit (width × height): 50 megapixels, well above any phone photo.
MAX_PIXELS = 50_000_000


#: File signatures, to tell "a damaged PNG" from "not an image at all".
_MAGIC = {
    b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG", b"GIF8": "GIF", b"BM": "BMP",
    b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"RIFF": "WebP",
}


def sniff(data: bytes) -> str | None:
    """The image format named by the file's first bytes (not its name), or None."""
    for magic, fmt in _MAGIC.items():
        if data.startswith(magic):
            return fmt
    return None


class ImageError(ValueError):
    """An image that cannot be used; ``str()`` reads ``<file>: <problem>``."""

    def __init__(self, source: str, problem: str):
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


def _name(src: str | os.PathLike | bytes, name: str | None) -> str:
    if name:
        return name
    return "<bytes>" if isinstance(src, bytes | bytearray) else str(src)


def load_image(src: str | os.PathLike | bytes, *, max_pixels: int = MAX_PIXELS, name: str | None = None) -> np.ndarray:
    """Read ``src`` (a path or the file's bytes) → ``(H, W, 3)`` uint8 RGB, upright per EXIF."""
    label = _name(src, name)
    if isinstance(src, bytes | bytearray):
        data = bytes(src)
    else:
        path = Path(src)
        if not path.exists():
            raise ImageError(label, "no such file")
        if not path.is_file():
            raise ImageError(label, "not a file")
        data = path.read_bytes()
    if not data:
        raise ImageError(label, "empty file (0 bytes)")
    if data.startswith(b"BZh"):  # bzip2-compressed image (Color FERET ships .ppm.bz2)
        import bz2

        try:
            data = bz2.decompress(data)
        except (OSError, ValueError, EOFError):
            raise ImageError(label, "corrupt bzip2-compressed file") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageError(label, f"image too large ({w}x{h} = {w * h / 1e6:.1f} MP > limit {max_pixels / 1e6:.1f} MP)")
                if w == 0 or h == 0:
                    raise ImageError(label, f"image has no pixels ({w}x{h})")
                im.seek(0)  # GIF / multi-page TIFF: the first frame
                im.load()
                return to_rgb(ImageOps.exif_transpose(im) or im)
    except ImageError:
        raise
    except UnidentifiedImageError:
        fmt = sniff(data)
        if fmt:
            raise ImageError(label, f"corrupt {fmt} file (its header is damaged)") from None
        raise ImageError(label, "not an image (unrecognised format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(label, f"image too large (decompression bomb guard: {e})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        msg = str(e) or type(e).__name__
        if "truncated" in msg.lower():
            raise ImageError(label, "truncated image file") from None
        raise ImageError(label, f"corrupt or unreadable image ({msg})") from None


def to_rgb(im: Image.Image) -> np.ndarray:
    """Any Pillow mode → ``(H, W, 3)`` uint8 RGB (16-bit and float scaled, alpha on white)."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        if mode == "F":
            lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
            a = (a - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(a)
        else:
            a = a / 257.0 if a.max() > 255 or mode.startswith("I;16") else a
        g = np.clip(np.rint(a), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(g[:, :, None], 3, axis=2))
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba)
    if mode == "RGB" and im.mode == "RGB":
        return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))
    if mode.startswith("RGB") and ";16" in mode:  # e.g. 48-bit PNG decoded as RGB;16
        a = np.asarray(im, dtype=np.float64) / 257.0
        return np.ascontiguousarray(np.clip(np.rint(a), 0, 255).astype(np.uint8)[:, :, :3])
    return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))
