"""sorl-thumbnail: ``get_thumbnail`` with rdjpeg's engine, in a minimal Django project (files in a temporary folder).

rdjpeg adds one setting, ``THUMBNAIL_ENGINE = "rdjpeg_plugins.sorl.Engine"`` (``--stock`` leaves sorl's PIL engine);
then ``THUMBNAIL_QUALITY`` and ``quality=`` mean the look of Pillow's JPEG at that quality, written smaller. Each photo
gets ``get_thumbnail(photo, geometry, crop=..., quality=...)``, copied to the output folder.

    python integrations/sorl_thumbnails.py photos/ out/ --geometry 320x240 --crop center --quality 85
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path


def configure(folder: str, stock: bool, quality: int) -> None:
    """Django's settings for sorl with its key-value store and thumbnails in ``folder`` (no database)."""
    from django.conf import settings

    settings.configure(
        SECRET_KEY="example",
        INSTALLED_APPS=["sorl.thumbnail"],
        MEDIA_ROOT=os.path.join(folder, "media"),
        MEDIA_URL="/media/",
        THUMBNAIL_KVSTORE="sorl.thumbnail.kvstores.dbm_kvstore.KVStore",
        THUMBNAIL_DBM_FILE=os.path.join(folder, "thumbnails"),
        THUMBNAIL_ENGINE="sorl.thumbnail.engines.pil_engine.Engine" if stock else "rdjpeg_plugins.sorl.Engine",
        THUMBNAIL_QUALITY=quality,
        THUMBNAIL_DEBUG=True,  # raise what went wrong (sorl's default logs it and serves no thumbnail)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--geometry", default="320x240", help="sorl's geometry string")
    parser.add_argument("--crop", help="sorl's crop option (center, …)")
    parser.add_argument("--quality", type=int, default=95, help="THUMBNAIL_QUALITY (sorl's default 95)")
    parser.add_argument("--stock", action="store_true", help="sorl's own PIL engine")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        configure(folder, args.stock, args.quality)
        import django

        django.setup()
        from django.core.files import File
        from django.core.files.storage import default_storage
        from sorl.thumbnail import get_thumbnail

        args.out.mkdir(parents=True, exist_ok=True)
        total = 0
        for path in sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")):
            with path.open("rb") as f:
                name = default_storage.save(path.name, File(f))  # an upload, as a model's ImageField stores it
            options = {"crop": args.crop} if args.crop else {}
            thumbnail = get_thumbnail(name, args.geometry, format="JPEG", **options)
            target = args.out / (path.stem + ".jpg")
            with thumbnail.storage.open(thumbnail.name, "rb") as source, target.open("wb") as copy:
                shutil.copyfileobj(source, copy)
            total += target.stat().st_size
            print(f"{target.name} {thumbnail.width}x{thumbnail.height} {target.stat().st_size}")
        print(f"total {total} bytes ({'sorl' if args.stock else 'rdjpeg'})")


if __name__ == "__main__":
    sys.exit(main())
