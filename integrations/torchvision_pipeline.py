"""torchvision: a training-data pipeline that augments with RD-optimized JPEG, in DataLoader worker processes.

Models that will see rdjpeg-compressed images at inference can train on them: ``RDJPEG`` drops into a
``v2.Compose`` where ``v2.JPEG`` would go, and boxes/masks pass through untouched.

    python integrations/torchvision_pipeline.py IMAGE_DIR --workers 2 --batches 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from PIL import Image
from torchvision.transforms import v2

from rdjpeg_plugins.torchvision import RDJPEG


class Folder(torch.utils.data.Dataset):
    def __init__(self, root: Path, transform) -> None:
        self.paths = sorted(p for p in root.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".bmp"})
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        with Image.open(self.paths[i]) as im:
            return self.transform(im.convert("RGB"))


def pipeline(size: int = 64) -> v2.Compose:
    return v2.Compose([
        v2.RandomResizedCrop(size, scale=(0.3, 1.0), antialias=True),
        v2.RandomHorizontalFlip(),
        RDJPEG(quality=(30, 90)),  # where v2.JPEG(quality=(30, 90)) would go
        v2.PILToTensor(),
        v2.ToDtype(torch.float32, scale=True),
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    data = Folder(args.images, pipeline(args.size))
    loader = torch.utils.data.DataLoader(data, batch_size=4, shuffle=True, num_workers=args.workers)
    for i, batch in enumerate(loader):
        print(f"batch {i}: {tuple(batch.shape)} {batch.dtype}, mean {batch.mean():.3f}")
        if i + 1 >= args.batches:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
