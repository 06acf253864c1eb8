"""Draw boxes, landmarks and answers onto a copy of the image (``agegender predict --annotate``)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from agegender.predictor import ImageResult

COLOURS = {"ok": (40, 200, 90), "undefined": (240, 170, 20)}


def draw(image: np.ndarray, result: ImageResult) -> Image.Image:
    im = Image.fromarray(image).convert("RGB")
    d = ImageDraw.Draw(im)
    size = max(12, im.width // 45)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    width = max(2, im.width // 250)
    for fa in result.faces:
        colour = COLOURS["undefined" if fa.answer.undefined else "ok"]
        x0, y0, x1, y1 = fa.face.box
        d.rectangle((x0, y0, x1, y1), outline=colour, width=width)
        for p in fa.face.landmarks:
            if not np.isnan(p).any():
                d.ellipse((p[0] - width, p[1] - width, p[0] + width, p[1] + width), fill=colour)
        text = "Undefined" if fa.answer.undefined else f"{fa.answer.age_label}, {fa.answer.gender_label}"
        tb = d.textbbox((0, 0), text, font=font)
        ty = y0 - (tb[3] - tb[1]) - 2 * width if y0 > (tb[3] - tb[1]) + 4 else y1 + width
        d.rectangle((x0, ty, x0 + tb[2] - tb[0] + 2 * width, ty + tb[3] - tb[1] + 2 * width), fill=colour)
        d.text((x0 + width, ty), text, fill=(0, 0, 0), font=font)
    return im
