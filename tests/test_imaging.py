import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agegender.imaging import ImageError, load_image, sniff

HEIC = Path(__file__).parent / "fixtures" / "heic"  # the bundled portrait as HEIC (scripts/make_phone_fixtures.py)

RGB = np.zeros((40, 60, 3), dtype=np.uint8)
RGB[:, :30] = (200, 30, 10)  # left half red-ish, right half black


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF", "AVIF"])
def test_common_formats_decode_to_rgb(fmt):
    data = _save(Image.fromarray(RGB), fmt)
    assert sniff(data) == {"WEBP": "WebP"}.get(fmt, fmt)  # from the content: what a wrong name cannot fool
    out = load_image(data)
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


@pytest.mark.parametrize("fmt", ["JPEG", "AVIF"])
def test_exif_orientation_applied(fmt):
    im = Image.fromarray(RGB)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = load_image(_save(im, fmt, exif=exif))
    assert out.shape == (60, 40, 3)
    assert out[10, 20, 0] > 150 and out[50, 20].max() < 60  # red half now on top


def test_iphone_heic_photos_decode_upright():
    """HEIC, an iPhone's own format: the portrait (400×512) decodes as the JPEG it was made from does; the
    same picture stored as a phone stores it (the sensor's pixels on their side, 512×400, with HEIF's
    rotation and EXIF orientation 6 both saying "turn it") comes out upright, turned once — not twice."""
    portrait = np.asarray(Image.open(Path(__file__).parents[1] / "src/agegender/data/astronaut.jpg").convert("RGB"))[:, 56:456]
    for name in ("astronaut.heic", "astronaut-turned.heic"):
        data = (HEIC / name).read_bytes()
        assert sniff(data) == "HEIC"
        out = load_image(HEIC / name)
        assert out.shape == (512, 400, 3), name
        assert np.abs(out.astype(float) - portrait).mean() < 4, name  # the same picture, HEVC's losses only
    # 10 bits per channel (HDR HEIF, as some Android phones and cameras write): the same 8-bit picture
    deep = load_image(HEIC / "astronaut-10bit.heic")
    small = np.asarray(Image.fromarray(portrait).resize((128, 128), Image.BICUBIC)).astype(float)
    assert deep.shape == (128, 128, 3) and deep.dtype == np.uint8 and np.abs(deep - small).mean() < 6
    with pytest.raises(ImageError, match="too large"):  # the pixel limit holds for HEIC as well
        load_image(HEIC / "astronaut.heic", max_pixels=100_000)


def test_damaged_heic_and_avif_are_named(tmp_path):
    """A HEIC or AVIF file cut short, or holding only its header, is refused in plain words, naming the file."""
    heic = (HEIC / "astronaut.heic").read_bytes()
    (tmp_path / "cut.heic").write_bytes(heic[: len(heic) // 2])
    with pytest.raises(ImageError, match="truncated image file.*HEIC decoder") as e:
        load_image(tmp_path / "cut.heic")
    assert str(e.value).startswith(str(tmp_path / "cut.heic") + ": ")
    avif = _save(Image.fromarray(RGB), "AVIF")
    for data, fmt in ((heic[:40], "HEIC"), (avif[:40], "AVIF")):
        with pytest.raises(ImageError, match=f"corrupt {fmt} file"):
            load_image(data, name="photo")


def test_heic_without_its_decoder_says_how_to_get_it():
    """An installation without pi-heif (a platform with no wheel) names the photo's format and the fix
    instead of calling an iPhone photo "not an image"."""
    code = ("import sys; sys.modules['pi_heif'] = None\n"
            "from agegender.imaging import ImageError, load_image\n"
            f"try: load_image({str(HEIC / 'astronaut.heic')!r})\n"
            "except ImageError as e: print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "astronaut.heic: a HEIC/HEIF photo" in out and "pip install pi-heif" in out, out


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
