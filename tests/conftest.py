import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SHARED = Path(os.environ.get("RDJPEG_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared data folder ($RDJPEG_SHARED, default ../shared beside the checkout); skips when absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED} (set RDJPEG_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def small_images(tmp_path_factory) -> list[str]:
    """Two small natural-looking RGB test images written as PNG."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    paths = []
    for i, (h, w) in enumerate([(48, 64), (40, 56)]):
        base = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
        smooth = np.asarray(Image.fromarray(base).resize((w, h), Image.BICUBIC)).astype(int)
        noisy = np.clip(smooth + rng.integers(-12, 13, smooth.shape), 0, 255).astype(np.uint8)
        path = folder / f"img{i}.png"
        Image.fromarray(noisy).save(path)
        paths.append(str(path))
    return paths
