"""Write the HEIC test photos in tests/fixtures/heic/ from the bundled public-domain portrait.

agegender only decodes HEIC (pi-heif, decode only), so encoding needs pillow-heif, whose wheels bundle the
x265 encoder (GPLv2) — keep it out of the project's environment:

    python3 -m venv /tmp/heif && /tmp/heif/bin/pip install "pillow>=12" "pillow-heif>=1.8"
    /tmp/heif/bin/python scripts/make_heic_fixtures.py

``astronaut.heic``: the portrait cut to 400×512 (taller than wide, so a turn shows in the size), quality 50.
``astronaut-turned.heic``: the same picture as a phone stores it held upright: the sensor's pixels lying on
their side (512×400) with the turn to show them upright recorded in the file (EXIF orientation 6, which
pillow-heif writes as HEIF's own rotation); a reader must show it 400×512, turned once, not twice.
``src/agegender/data/fuzz-seed.heic``: 32×24 random pixels, the HEIC seed of ``agegender bench fuzz``.
"""

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
    for name in ("astronaut.heic", "astronaut-turned.heic"):
        with Image.open(OUT / name) as im:
            print(name, im.size, (OUT / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
