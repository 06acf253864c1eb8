import io

import numpy as np
import pytest
from PIL import Image

from agegender.imaging import ImageError, load_image

RGB = np.zeros((40, 60, 3), dtype=np.uint8)
RGB[:, :30] = (200, 30, 10)  # left half red-ish, right half black


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF"])
def test_common_formats_decode_to_rgb(fmt):
    out = load_image(_save(Image.fromarray(RGB), fmt))
    assert out.shape == (40, 60, 3) and out.dtype == np.uint8
    assert out[20, 10, 0] > 150 and out[20, 50].max() < 40


def test_gif_first_frame():
    frames = [Image.fromarray(RGB), Image.fromarray(255 - RGB)]
    data = _save(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert load_image(data)[20, 50].max() < 40  # frame 0, not frame 1


def test_grayscale_cmyk_palette_alpha():
    gray = load_image(_save(Image.fromarray(RGB).convert("L"), "PNG"))
    assert gray.shape == (40, 60, 3) and (gray[..., 0] == gray[..., 1]).all()
    cmyk = load_image(_save(Image.fromarray(RGB).convert("CMYK"), "JPEG"))
    assert cmyk.shape == (40, 60, 3) and cmyk[20, 10, 0] > 150
    pal = load_image(_save(Image.fromarray(RGB).convert("P"), "PNG"))
    assert pal.shape == (40, 60, 3) and pal[20, 10, 0] > 150
    rgba = np.dstack([RGB, np.zeros((40, 60), np.uint8)])  # fully transparent → white background
    assert (load_image(_save(Image.fromarray(rgba, "RGBA"), "PNG")) == 255).all()


def test_16_bit_scaled_not_clipped():
    a = (np.linspace(0, 65535, 60)[None, :].repeat(40, 0)).astype(np.uint16)
    out = load_image(_save(Image.fromarray(a), "PNG"))
    assert out.shape == (40, 60, 3)
    assert out[0, 0, 0] == 0 and out[0, -1, 0] == 255 and 100 < out[0, 30, 0] < 155


def test_exif_orientation_applied():
    im = Image.fromarray(RGB)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = load_image(_save(im, "JPEG", exif=exif))
    assert out.shape == (60, 40, 3)
    assert out[10, 20, 0] > 150 and out[50, 20].max() < 60  # red half now on top


@pytest.mark.parametrize(
    "data,problem",
    [
        (b"", "empty file"),
        (b"hello, this is text", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "corrupt"),
    ],
)
def test_bad_bytes_give_clear_errors(data, problem):
    with pytest.raises(ImageError, match=problem) as e:
        load_image(data, name="upload.jpg")
    assert str(e.value).startswith("upload.jpg: ")


def test_truncated_jpeg(tmp_path):
    data = _save(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)), "JPEG")
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated") as e:
        load_image(p)
    assert str(p) in str(e.value)


def test_pixel_limit_refuses_bombs_without_decoding():
    data = _save(Image.new("L", (5000, 5000)), "PNG")  # tiny file, 25 MP
    with pytest.raises(ImageError, match="too large"):
        load_image(data, max_pixels=10_000_000)
    assert load_image(data, max_pixels=30_000_000).shape == (5000, 5000, 3)


def test_missing_and_directory(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="not a file"):
        load_image(tmp_path)
