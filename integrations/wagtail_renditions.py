"""Wagtail: JPEG renditions written by rdjpeg, in a minimal Wagtail project (SQLite, in a temporary folder).

rdjpeg adds one line to a project's settings, ``"rdjpeg_plugins.wagtail"`` in ``INSTALLED_APPS``; then
``WAGTAILIMAGES_JPEG_QUALITY`` and the ``jpegquality-N`` filter mean the look of Pillow's JPEG at that quality, written
smaller (``--stock`` leaves the line out: Wagtail's own JPEGs). Each photo is uploaded as a Wagtail image, its
rendition made with ``get_rendition(spec)`` and copied to the output folder.

    python integrations/wagtail_renditions.py photos/ out/ --spec "fill-640x480|format-jpeg" --quality 76
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

APPS = ["wagtail.images", "wagtail", "taggit", "django.contrib.auth", "django.contrib.contenttypes"]
LABELS = ("wagtailimages", "wagtailcore", "taggit", "auth", "contenttypes")  # the apps' labels


def configure(folder: str, stock: bool, quality: int) -> None:
    """Django's settings for a project whose database and media live in ``folder``."""
    from django.conf import settings

    settings.configure(
        SECRET_KEY="example",
        INSTALLED_APPS=APPS if stock else ["rdjpeg_plugins.wagtail", *APPS],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(folder, "db.sqlite3")}},
        MIGRATION_MODULES=dict.fromkeys(LABELS),  # no migrations: tables straight from the models
        MEDIA_ROOT=os.path.join(folder, "media"),
        MEDIA_URL="/media/",
        STATIC_URL="/static/",
        USE_TZ=True,
        WAGTAILIMAGES_JPEG_QUALITY=quality,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--spec", default="fill-640x480|format-jpeg", help="Wagtail's filter spec")
    parser.add_argument("--quality", type=int, default=76, help="WAGTAILIMAGES_JPEG_QUALITY (Wagtail's default 76)")
    parser.add_argument("--stock", action="store_true", help="without rdjpeg: Wagtail's own JPEGs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        configure(folder, args.stock, args.quality)
        import django

        django.setup()
        from django.core.files.images import ImageFile
        from django.core.management import call_command
        from wagtail.images.models import Image
        from wagtail.models import Collection

        call_command("migrate", run_syncdb=True, verbosity=0)
        Collection.add_root(name="Root")  # what Wagtail's migrations would have made
        args.out.mkdir(parents=True, exist_ok=True)
        total = 0
        for path in sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")):
            with path.open("rb") as f:
                image = Image.objects.create(title=path.stem, file=ImageFile(f, name=path.name))
            rendition = image.get_rendition(args.spec)
            target = args.out / (path.stem + Path(rendition.file.name).suffix)
            with rendition.file.open("rb") as source, target.open("wb") as copy:
                shutil.copyfileobj(source, copy)
            total += target.stat().st_size
            print(f"{target.name} {rendition.width}x{rendition.height} {target.stat().st_size}")
        print(f"total {total} bytes ({'Wagtail' if args.stock else 'rdjpeg'})")


if __name__ == "__main__":
    sys.exit(main())
