"""Raw aligned pixels scaled to [0, 1]: the input of the seed project's fully-connected network."""

from __future__ import annotations

import numpy as np

from agegender.features.base import ChipSpec


class Pixels:
    """32×32 RGB chips (3072 values), the seed FCN's input."""

    name = "pixels"
    size = 32
    padding = 0.2
    dim = size * size * 3
    version = f"1-{size}px-pad{padding:g}"
    chips = (ChipSpec(size, padding),)

    def __init__(self, threads: int = 1):
        pass

    def extract(self, chips: list[np.ndarray]) -> np.ndarray:
        x = chips[0]
        return (x.reshape(len(x), -1).astype(np.float32)) / 255.0


class Pixels64(Pixels):
    """64×64 RGB chips (12288 values), the compact CNN's input."""

    name = "pixels64"
    size = 64
    dim = size * size * 3
    version = f"1-{size}px-pad{Pixels.padding:g}"
    chips = (ChipSpec(size, Pixels.padding),)
