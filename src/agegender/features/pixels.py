"""Raw aligned pixels scaled to [0, 1]: the input of the seed project's fully-connected network."""

from __future__ import annotations

import numpy as np

from agegender.features.base import ChipSpec


class Pixels:
    name = "pixels"
    version = "1"

    def __init__(self, size: int = 32, padding: float = 0.2, threads: int = 1):
        self.chips = (ChipSpec(size, padding),)
        self.dim = size * size * 3
        self.version = f"1-{size}px-pad{padding:g}"

    def extract(self, chips: list[np.ndarray]) -> np.ndarray:
        x = chips[0]
        return (x.reshape(len(x), -1).astype(np.float32)) / 255.0
