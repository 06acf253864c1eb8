"""Write the test files a phone makes — HEIC photos and an HEVC video held upright — from the bundled
public-domain portrait, into tests/fixtures/heic/ and tests/fixtures/video/.

agegender only decodes them (pi-heif; OpenCV's FFmpeg), so encoding needs pillow-heif and imageio-ffmpeg,
whose binaries bundle the x265 encoder (GPLv2) — keep them out of the project's environment:

    python3 -m venv /tmp/heif && /tmp/heif/bin/pip install "pillow>=12" "pillow-heif>=1.8" numpy imageio-ffmpeg
    /tmp/heif/bin/python scripts/make_phone_fixtures.py

``astronaut.heic``: the portrait cut to 400×512 (taller than wide, so a turn shows in the size), quality 50.
``astronaut-turned.heic``: the same picture as a phone stores it held upright: the sensor's pixels lying on
their side (512×400) with the turn to show them upright recorded in the file (EXIF orientation 6, which
pillow-heif writes as HEIF's own rotation); a reader must show it 400×512, turned once, not twice.
``astronaut-10bit.heic``: the portrait at 128×128 with 10 bits per channel (as some Android phones and
cameras write HDR photos); a reader must give the same 8-bit picture.
``src/agegender/data/fuzz-seed.heic``: 32×24 random pixels, the HEIC seed of ``agegender bench fuzz``.
``tests/fixtures/video/phone-portrait.mov``: as an iPhone records a video held upright — HEVC frames of the
sensor lying on its side (256×200) and a display matrix that turns them (QuickTime, 2 s at 5 frames/s);
a reader must give 200×256 frames with the face upright.
"""

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "heic"


def main() -> None:
    pillow_heif.register_heif_opener()
    OUT.mkdir(parents=True, exist_ok=True)
    portrait = Image.open(ROOT / "src" / "agegender" / "data" / "astronaut.jpg").convert("RGB").crop((56, 0, 456, 512))
    portrait.save(OUT / "astronaut.heic", quality=50)
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90° clockwise to show"
    portrait.transpose(Image.Transpose.ROTATE_90).save(OUT / "astronaut-turned.heic", quality=50, exif=exif.tobytes())
    noise = np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    Image.fromarray(noise).save(ROOT / "src" / "agegender" / "data" / "fuzz-seed.heic", quality=50)
    deep = np.asarray(portrait.resize((128, 128), Image.BICUBIC)).astype(np.uint16) * 257  # 16-bit: saved as 10-bit
    pillow_heif.from_bytes(mode="RGB;16", size=(128, 128), data=deep.tobytes()).save(OUT / "astronaut-10bit.heic", quality=60)
    for name in ("astronaut.heic", "astronaut-turned.heic", "astronaut-10bit.heic"):
        with Image.open(OUT / name) as im:
            print(name, im.size, (OUT / name).stat().st_size, "bytes")
    phone_video(portrait)


def phone_video(portrait: Image.Image) -> None:
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    out = ROOT / "tests" / "fixtures" / "video" / "phone-portrait.mov"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        sensor, plain = Path(tmp) / "sensor.png", Path(tmp) / "plain.mov"
        portrait.resize((200, 256), Image.BICUBIC).transpose(Image.Transpose.ROTATE_90).save(sensor)
        run = lambda *a: subprocess.run([ffmpeg, "-y", "-loglevel", "error", *a], check=True)  # noqa: E731
        run("-loop", "1", "-i", str(sensor), "-t", "2", "-r", "5", "-c:v", "libx265", "-x265-params", "log-level=error",
            "-pix_fmt", "yuv420p", "-tag:v", "hvc1", str(plain))
        run("-display_rotation", "-90", "-i", str(plain), "-c", "copy", str(out))  # −90: shown turned clockwise
    print(out.name, out.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
