"""Decode any image a user may hand us into an upright 8-bit RGB array, or fail with a clear message.

Handles JPEG/PNG/WebP/BMP/GIF (first frame)/TIFF/PPM, HEIC/HEIF (iPhones' photos: pi-heif) and AVIF, EXIF
orientation (and HEIF's own rotation), grayscale, CMYK, palette,
alpha (composited on white), 16-bit and float images, bzip2-compressed files, and numpy arrays of
any of those kinds (:func:`array_to_rgb`). It refuses empty, truncated, corrupt, unreadable and
non-image files and decompression bombs (an explicit pixel limit, checked from the header before any
pixel is decoded — also inside a bzip2 stream) with :class:`ImageError`, whose message names the
file and says what is wrong in plain words, the decoder's own detail after it.
"""

from __future__ import annotations

import bz2
import errno
import functools
import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Default pixel limit (width × height): 50 megapixels, well above any phone photo.
MAX_PIXELS = 50_000_000
#: What a bzip2 stream may inflate to beyond the image's own pixels (PPM/PGM headers, comments).
_BZ2_SLACK = 1 << 20

#: File signatures, to tell "a damaged PNG" from "not an image at all".
_MAGIC = {
    b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG", b"GIF8": "GIF", b"BM": "BMP",
    b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"RIFF": "WebP", b"P6": "PPM", b"P5": "PGM",
}
#: ISO base media files (an ``ftyp`` box first) by their brands: HEIF stills as iPhones (HEIC, since iOS 11),
#: many Android phones and cameras write them, and AVIF (the page's device path reads the same lists: web/device.py).
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"mif2"}
AVIF_BRANDS = {b"avif", b"avis"}

#: Decoder phrases → what they mean for the file, in plain words (the phrase itself follows).
_PLAIN = (
    ("truncated", "truncated image file: it ends before the picture does"),
    ("broken data stream", "damaged image data: the file is corrupt"),
    ("decoder error", "damaged image data: the file is corrupt"),
    ("unrecognized data stream", "damaged image data: the file is corrupt"),
    ("could not create decoder", "damaged image data: the file is corrupt"),
    ("failed to read next frame", "damaged image data: the file is corrupt"),
    ("codec configuration", "damaged image data: the file is corrupt"),
    ("unsupported", "an unsupported kind of {fmt} file"),
    ("not supported", "an unsupported kind of {fmt} file"),
    ("invalid literal", "damaged header: the file is corrupt"),
    ("buffer is not large enough", "damaged image data: the file is corrupt"),
    ("not enough image data", "truncated image file: it ends before the picture does"),
    ("end of file", "truncated image file: it ends before the picture does"),
    ("outside of file bounds", "truncated image file: it ends before the picture does"),
)


def sniff(data: bytes) -> str | None:
    """The image format named by the file's first bytes (not its name), or None."""
    for magic, fmt in _MAGIC.items():
        if data.startswith(magic):
            return fmt
    if data[4:8] == b"ftyp":  # the major brand, then the compatible ones, up to the box's end
        end = min(int.from_bytes(data[:4], "big"), 64, len(data))
        brands = {data[8:12]} | {data[i:i + 4] for i in range(16, end - 3, 4)}
        if brands & AVIF_BRANDS:
            return "AVIF"
        if brands & HEIF_BRANDS:
            return "HEIC"
    return None


@functools.cache
def _heif_decoder() -> bool:
    """Teach Pillow HEIC/HEIF (pi-heif: libheif and libde265, decode only, LGPL wheels), once, when the first
    such photo comes; False when pi-heif is not installed. libheif turns the picture as the file's own
    rotation says and resets the EXIF orientation, so it is not applied twice."""
    try:
        from pi_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


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


def os_problem(e: OSError, what: str = "file") -> str:
    """An OS error on reading a file or folder, in plain words (the system's phrase after it)."""
    detail = e.strerror or type(e).__name__
    if e.errno in (errno.EACCES, errno.EPERM):
        return f"cannot read this {what}: permission denied"
    if e.errno == errno.ELOOP:
        return "symbolic link loop: the link leads back to itself"
    if e.errno == errno.ENOENT:
        return f"no such {what}"
    if e.errno == errno.EISDIR:
        return "not a file (a folder)"
    if e.errno == errno.ENAMETOOLONG:
        return "file name too long"
    return f"cannot read this {what} ({detail})"


def read_file(path: str | os.PathLike, label: str | None = None) -> bytes:
    """The bytes of ``path``; any OS error becomes an :class:`ImageError` naming the file."""
    p = Path(path)
    label = label or str(path)
    try:
        p.stat()  # follows links: a loop raises ELOOP, a dangling link ENOENT
    except OSError as e:
        if e.errno == errno.ENOENT and p.is_symlink():
            raise ImageError(label, "broken symbolic link: what it points to does not exist") from None
        raise ImageError(label, os_problem(e)) from None
    if not os.path.isfile(p):
        raise ImageError(label, "not a file" + (" (a folder)" if os.path.isdir(p) else ""))
    try:
        return p.read_bytes()
    except OSError as e:
        raise ImageError(label, os_problem(e)) from None


def _inflate_bz2(data: bytes, label: str, max_pixels: int) -> bytes:
    """A bzip2-compressed image (Color FERET ships .ppm.bz2), inflated only as far as its header allows.

    The header is read from the first inflated bytes; a picture over ``max_pixels`` is refused before
    the rest is decompressed, and the stream may not inflate past what the picture itself needs.
    """
    dec = bz2.BZ2Decompressor()
    try:
        out = dec.decompress(data, max_length=64 * 1024)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(io.BytesIO(out)) as im:
                    w, h = im.size
                    bands = len(im.getbands())
        except Image.DecompressionBombError as e:
            raise ImageError(label, f"image too large ({e})") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise ImageError(label, "bzip2-compressed file does not hold a readable image") from None
        _check_size(label, w, h, max_pixels)
        budget = w * h * bands * 2 + _BZ2_SLACK  # 16-bit samples at most, plus header and comments
        if not dec.eof and budget > len(out):
            out += dec.decompress(b"", max_length=budget - len(out))
        if not dec.eof and not dec.needs_input:
            raise ImageError(label, f"bzip2-compressed file inflates far beyond its {w}x{h} image (refused as a bomb)")
    except ImageError:
        raise
    except (OSError, ValueError, EOFError):
        raise ImageError(label, "corrupt bzip2-compressed file") from None
    return out


def _check_size(label: str, w: int, h: int, max_pixels: int) -> None:
    if w * h > max_pixels:
        raise ImageError(label, f"image too large ({w}x{h} = {w * h / 1e6:.1f} MP > limit {max_pixels / 1e6:.1f} MP)")
    if w == 0 or h == 0:
        raise ImageError(label, f"image has no pixels ({w}x{h})")


def _plain(msg: str, fmt: str | None) -> str:
    low = msg.lower()
    kind = f"{fmt} " if fmt else ""
    for phrase, meaning in _PLAIN:
        if phrase in low:
            return f"{meaning.format(fmt=fmt or 'image')} ({kind}decoder: {msg})"
    return f"unreadable {kind}image: the file is damaged or of a kind we cannot decode ({msg})"


def load_image(src: str | os.PathLike | bytes, *, max_pixels: int = MAX_PIXELS, name: str | None = None) -> np.ndarray:
    """Read ``src`` (a path or the file's bytes) → ``(H, W, 3)`` uint8 RGB, upright per EXIF."""
    label = _name(src, name)
    data = bytes(src) if isinstance(src, bytes | bytearray) else read_file(src, label)
    if not data:
        raise ImageError(label, "empty file (0 bytes)")
    # We check the pixel count ourselves from the header, so Pillow's own bomb guard must not refuse
    # first (its default stops at ~89 MP, below a limit a user may choose); raise it, never lower it.
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels
    if data.startswith(b"BZh"):
        data = _inflate_bz2(data, label, max_pixels)
    fmt = sniff(data)
    if fmt == "HEIC" and not _heif_decoder():
        raise ImageError(label, "a HEIC/HEIF photo (as iPhones take them), and this installation cannot decode them: "
                                "pip install pi-heif, or save the photo as JPEG")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # decoders' chatter (EXIF, TIFF metadata): we report what matters
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                _check_size(label, w, h, max_pixels)
                im.seek(0)  # GIF / multi-page TIFF: the first frame
                im.load()
                return to_rgb(ImageOps.exif_transpose(im) or im, label)
    except ImageError:
        raise
    except UnidentifiedImageError:
        if fmt:
            raise ImageError(label, f"corrupt {fmt} file: its header is damaged") from None
        raise ImageError(label, "not an image (unrecognised format)") from None
    except Image.DecompressionBombError as e:  # over twice the limit: Pillow refuses before we see the size
        raise ImageError(label, f"image too large ({e})") from None
    except Exception as e:  # noqa: BLE001 — decoders fail on damaged files in many ways (OSError, TypeError,
        # struct.error, IndexError…): every one is that file's problem, never the caller's
        raise ImageError(label, _plain(f"{type(e).__name__}: {e}" if not isinstance(e, OSError | ValueError | SyntaxError)
                                       else str(e).strip() or type(e).__name__, fmt)) from None


#: Longer side of :func:`preview_jpeg`'s copy: enough to see every face and its box on a screen.
PREVIEW_SIDE = 1280


def preview_jpeg(src: str | os.PathLike | bytes, *, max_side: int = PREVIEW_SIDE, max_pixels: int = MAX_PIXELS,
                 name: str | None = None) -> bytes:
    """The image as :func:`load_image` reads it (upright per EXIF, RGB) as a JPEG at most ``max_side`` px long:
    for a browser that cannot decode the original (HEIC outside Safari), to draw the answers on. Raises
    :class:`ImageError` as :func:`load_image` does."""
    im = Image.fromarray(load_image(src, max_pixels=max_pixels, name=name))
    im.thumbnail((max_side, max_side), Image.LANCZOS)  # keeps the aspect; never enlarges
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def to_rgb(im: Image.Image, label: str = "<image>") -> np.ndarray:
    """Any Pillow mode → ``(H, W, 3)`` uint8 RGB (16-bit and float scaled, alpha on white)."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        if mode == "F":
            return _grey_to_rgb(_stretch(a, label))
        return _grey_to_rgb(a / 257.0 if a.max() > 255 or mode.startswith("I;16") else a)
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


def _stretch(a: np.ndarray, label: str) -> np.ndarray:
    """Float samples of unknown range → 0–255 by their own minimum and maximum (float TIFFs)."""
    if not np.isfinite(a).all():
        raise ImageError(label, "float image holds NaN or infinite pixel values")
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(a)


def _grey_to_rgb(a: np.ndarray) -> np.ndarray:
    g = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(g[:, :, None], 3, axis=2))


def array_to_rgb(array, source: str = "<array>", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A numpy image of any common kind → ``(H, W, 3)`` uint8 RGB, converted as files are.

    Accepts ``H×W`` (grey) and ``H×W×C`` with C = 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA);
    uint8; 16-bit and other integers (scaled by 257 when above 255, as 16-bit files are); bool; and
    floats — in 0–1 (scaled by 255), in 0–255 (kept), otherwise stretched by their own range like a
    float TIFF. Alpha is composited on white. Anything else is an :class:`ImageError`.
    """
    a = np.asarray(array)
    if a.dtype.kind not in "buif":
        raise ImageError(source, f"not an image array (dtype {a.dtype}; expected integers, floats or bool)")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4):
        raise ImageError(source, f"not an image array (shape {tuple(np.shape(array))}; expected H×W or H×W×1/2/3/4)")
    _check_size(source, a.shape[1], a.shape[0], max_pixels)
    if a.dtype.kind == "b":
        a = a.astype(np.uint8) * 255
    elif a.dtype.kind == "f":
        with np.errstate(invalid="ignore"):  # signalling NaNs: refused just below
            f = a.astype(np.float64)
        if not np.isfinite(f).all():
            raise ImageError(source, "float image holds NaN or infinite pixel values")
        lo, hi = float(f.min()), float(f.max())
        if lo >= 0 and hi <= 1.0:
            f = f * 255.0
        elif lo < 0 or hi > 255:
            f = _stretch(f, source)
        a = np.clip(np.rint(f), 0, 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        f = a.astype(np.float64)
        if f.max() > 255:
            f = f / 257.0
        a = np.clip(np.rint(f), 0, 255).astype(np.uint8)
    c = a.shape[2]
    if c == 3:
        return np.ascontiguousarray(a)
    if c == 1:
        return np.ascontiguousarray(np.repeat(a, 3, axis=2))
    return to_rgb(Image.fromarray(np.ascontiguousarray(a), "LA" if c == 2 else "RGBA"), source)
