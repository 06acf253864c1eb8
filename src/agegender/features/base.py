"""The extractor interface and the name → extractor registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class ChipSpec:
    """The aligned chip an extractor wants: side in pixels and dlib-style padding around the face."""

    size: int
    padding: float


class Extractor(Protocol):
    """Turns aligned chips into fixed-length float32 vectors, deterministically."""

    name: str
    version: str  # bump when the output changes: it keys the cache
    dim: int
    chips: tuple[ChipSpec, ...]  # one entry per chip the extractor consumes, in order

    def extract(self, chips: list[np.ndarray]) -> np.ndarray:
        """``chips[i]`` is an ``(N, size, size, 3)`` uint8 batch for ``self.chips[i]`` → ``(N, dim)``."""
        ...


class Concat:
    """Several extractors side by side: their chips are cut once each, their vectors concatenated."""

    def __init__(self, parts: list[Extractor]):
        self.parts = parts
        self.name = "+".join(p.name for p in parts)
        self.version = "+".join(f"{p.name}@{p.version}" for p in parts)
        self.dim = sum(p.dim for p in parts)
        specs: list[ChipSpec] = []
        for p in parts:
            specs.extend(s for s in p.chips if s not in specs)
        self.chips = tuple(specs)
        # float16 only if every part is stored so (the others' float32 values are kept as they are)
        kinds = {np.dtype(getattr(p, "store_dtype", np.float32)) for p in parts}
        self.store_dtype = kinds.pop() if len(kinds) == 1 else np.dtype(np.float32)

    def extract(self, chips: list[np.ndarray]) -> np.ndarray:
        by_spec = dict(zip(self.chips, chips))
        return np.concatenate([p.extract([by_spec[s] for s in p.chips]) for p in self.parts], axis=1)


def _registry() -> dict[str, type]:
    from agegender.features.agnet import AgeGenderMap, AgeGenderNets
    from agegender.features.dlib_embedding import DlibEmbedding, DlibTrunk, DlibTrunk64
    from agegender.features.faceres import FaceRes160, FaceResDeep, FaceResMap
    from agegender.features.pixels import Pixels, Pixels64

    return {"pixels": Pixels, "pixels64": Pixels64, "dlib128": DlibEmbedding, "dlibtrunk": DlibTrunk,
            "dlibtrunk64": DlibTrunk64, "agnet": AgeGenderNets, "agnetmap": AgeGenderMap,
            "faceres": FaceResDeep, "faceres160": FaceRes160, "faceresmap": FaceResMap}


def list_extractors() -> list[str]:
    return list(_registry())


def extractor_dim(name: str) -> int:
    """Output size of an extractor (or a ``+`` concatenation) without loading any model."""
    reg = _registry()
    try:
        return sum(reg[p.strip()].dim for p in name.split("+"))
    except KeyError as e:
        raise ValueError(f"unknown extractor {e.args[0]!r}; choose from {', '.join(reg)}") from None


def get_extractor(name: str, threads: int = 1) -> Extractor:
    """``"dlib128+agnet"`` → a :class:`Concat` of both; a single name → that extractor."""
    reg = _registry()
    parts = []
    for part in name.split("+"):
        part = part.strip()
        if part not in reg:
            raise ValueError(f"unknown extractor {part!r}; choose from {', '.join(reg)} (join with '+')")
        parts.append(reg[part](threads=threads))
    return parts[0] if len(parts) == 1 else Concat(parts)
