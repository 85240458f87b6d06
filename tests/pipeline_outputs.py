"""The bytes every shipped pipeline writes for a few small images: a refactor must not change one of them.

``python tests/pipeline_outputs.py`` rewrites ``tests/data/pipeline_outputs.json`` (only when a change of output is
intended and measured); ``tests/test_pipeline_outputs.py`` checks the current code against it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os

import numpy as np
from PIL import Image

RECORD = os.path.join(os.path.dirname(__file__), "data", "pipeline_outputs.json")
SAMPLE = os.path.join(os.path.dirname(__file__), "..", "core", "samples", "parrots.png")

# (name, encode keyword arguments); every shipped pipeline, each backend and the size search.
PIPELINES = {
    "default": {},
    "mse": {"metric": "mse"},
    "msssim": {"metric": "msssim"},
    "lpips": {"metric": "lpips"},
    "mse-network": {"metric": "mse", "prefilter": "mse"},
    "plain": {"backend": "pillow"},
    "mse-444-optimize": {"metric": "mse", "subsampling": "4:4:4", "optimize": True},
    "mse-mozjpeg": {"metric": "mse", "backend": "mozjpeg"},
    "msssim-mozjpeg-table": {"metric": "msssim", "backend": "mozjpeg", "table": "ms-ssim"},
    "mse-jpegli": {"metric": "mse", "backend": "jpegli", "optimize": True},
    "msssim-max-bytes": {"metric": "msssim", "max_bytes": 1500},
}
QUALITIES = (30, 80)


def images() -> dict[str, np.ndarray]:
    """Small crops of the sample photo: RGB with partial blocks and MCUs, and gray."""
    with Image.open(SAMPLE) as im:
        rgb = np.asarray(im.convert("RGB"))
    return {
        "rgb-75x53": rgb[100:153, 200:275].copy(),
        "gray-40x33": np.asarray(Image.fromarray(rgb[40:73, 300:340]).convert("L")),
    }


def available(options: dict) -> bool:
    return options.get("backend") != "jpegli" or importlib.util.find_spec("pyjpegli") is not None


def outputs() -> dict[str, str]:
    """SHA-256 of the file of every (pipeline, image, quality), keyed "pipeline/image/q"."""
    import rdjpeg

    found = {}
    for name, options in PIPELINES.items():
        if not available(options):
            continue
        for image_name, pixels in images().items():
            if pixels.ndim == 2 and options.get("backend") == "jpegli":
                continue  # jpegli writes RGB only
            for q in QUALITIES:
                data = rdjpeg.encode(pixels, q, **options)
                found[f"{name}/{image_name}/q{q}"] = hashlib.sha256(data).hexdigest()
    return found


if __name__ == "__main__":
    record = outputs()  # all of them before the old record is touched
    os.makedirs(os.path.dirname(RECORD), exist_ok=True)
    with open(RECORD, "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {RECORD}")
