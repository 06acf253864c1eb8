"""Shared test helpers: where the fixtures and the optional ../shared data live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(os.environ.get("AGEGENDER_SHARED", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test cleanly when that data is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs {p} (../shared is not present in a fresh clone)")
    return p


@pytest.fixture(scope="session")
def astronaut():
    """The bundled public-domain NASA portrait (one face) as an RGB array."""
    from agegender.cli import default_photo
    from agegender.imaging import load_image

    return load_image(default_photo())


@pytest.fixture(scope="session")
def retina():
    from agegender.faces import FacePipeline

    return FacePipeline("retinaface")
