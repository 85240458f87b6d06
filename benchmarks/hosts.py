"""Issue 32's figures: each host's JPEGs with rdjpeg's door against the host's own, on a set of photos resized as the
host would, judged by libjxl's own SSIMULACRA2 binary (``--reference``) and butteraugli (libjxl's ``butteraugli_main``,
3-norm), both on the pixels Pillow decodes, against the resized image the host encoded. Besides the bytes at the
host's default quality, rdjpeg's bytes against the host's at rdjpeg's SSIMULACRA2: the host's file at its quality
±4 and ±8 as well, log bytes interpolated at the score rdjpeg's file has on each photo (extrapolated from the nearest
segment, and counted, where that ladder does not reach it).

Hosts (each with the settings a default install uses; the stock file is the host's own code path):

* ``thumbor``: the PIL engine's ``read`` (``QUALITY`` 80, progressive) of the photo resized by the engine to fit
  640×640, and ``RDJPEG_TARGET = "ssimulacra2:80"`` (run it in thumbor's own venv: it pins Pillow < 13);
* ``wagtail``: Willow's ``save_as_jpeg`` as Wagtail's renditions call it (``max-640x640``, quality 76, progressive,
  optimized); ``willow``: Willow's defaults (quality 85), same size;
* ``sorl``: sorl's PIL engine ``_get_raw_data`` (quality 95, progressive) of a 320×320-bounded thumbnail;
* ``webdataset``: the full-size photos in one shard, ``TarWriter``'s default encoder (quality 100) against
  ``encoder()`` (quality 100's look) and ``encoder(target="ssimulacra2:80")``; the shard sizes too.

    .venv/bin/python benchmarks/hosts.py --images "../shared/data/kodak/*.png" --reference /work/tools/ssimulacra2 \\
        --hosts wagtail,willow,sorl,webdataset --json benchmarks/results/hosts-kodak.json
    .venv-thumbor/bin/python benchmarks/hosts.py --images "../shared/data/kodak/*.png" \\
        --reference /work/tools/ssimulacra2 --hosts thumbor --json benchmarks/results/hosts-thumbor-kodak.json
"""

from __future__ import annotations

import argparse
import functools
import glob
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

HOSTS = ("thumbor", "wagtail", "willow", "sorl", "webdataset")
LADDER = (-8, -4, 4, 8)  # the host's qualities around its default, for its bytes at rdjpeg's look


def judged(reference: np.ndarray, data: bytes, ssimulacra2: str, butteraugli: bool = True) -> dict:
    """The file's bytes, libjxl's SSIMULACRA2 and (``butteraugli``) butteraugli's 3-norm of what Pillow decodes,
    against ``reference``."""
    with Image.open(io.BytesIO(data)) as im:
        decoded = np.asarray(im.convert("RGB"))
    with tempfile.TemporaryDirectory() as folder:
        a, b = os.path.join(folder, "a.png"), os.path.join(folder, "b.png")
        Image.fromarray(reference).save(a)
        Image.fromarray(decoded).save(b)
        score = subprocess.run([ssimulacra2, a, b], capture_output=True, text=True, check=True).stdout.split()[-1]
        row = {"bytes": len(data), "ssimulacra2": float(score)}
        if butteraugli:
            out = subprocess.run(["butteraugli_main", a, b, "--pnorm", "3"], capture_output=True, text=True, check=True)
            words = out.stdout.split()
            row["butteraugli"] = float(words[words.index("3-norm:") + 1])
    return row


def fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    scale = side / max(size)
    return round(size[0] * scale), round(size[1] * scale)


def thumbor_files(path: str) -> tuple:
    """thumbor's engine in-process, as ``/unsafe/fit-in/640x640/photo.png`` with the JPEG format filter runs it."""
    from thumbor.config import Config
    from thumbor.context import Context, RequestParameters
    from thumbor.engines import pil
    from thumbor.importer import Importer

    from rdjpeg_plugins import thumbor

    with open(path, "rb") as f:
        source = f.read()

    def read(engine_class, extension: str = ".jpg", quality: int | None = None, **settings) -> bytes:
        config = Config(**settings)
        context = Context(config=config, importer=Importer(config))
        context.request = RequestParameters()
        context.request.quality = quality  # None: as thumbor's handler leaves it without a quality() filter
        engine = engine_class(context)
        engine.load(source, ".png")
        engine.resize(*fit(engine.size, 640))
        return engine.read(extension, quality or config.QUALITY)

    reference = np.asarray(Image.open(io.BytesIO(read(pil.Engine, ".png"))).convert("RGB"))
    files = {"stock": read(pil.Engine), "rdjpeg": read(thumbor.Engine),
             "rdjpeg_target80": read(thumbor.Engine, RDJPEG_TARGET="ssimulacra2:80")}  # fmt: skip
    return reference, files, 80, lambda q: read(pil.Engine, quality=q)


@functools.cache
def willow_saves() -> tuple:
    """Willow's own ``save_as_jpeg`` and rdjpeg's (the import replaces Willow's: it is kept first)."""
    from willow.plugins.pillow import PillowImage

    stock = PillowImage.save_as_jpeg
    import rdjpeg_plugins.willow

    return stock, rdjpeg_plugins.willow.save_as_jpeg


def willow_files(path: str, quality: int, wagtail: bool) -> tuple:
    """Willow's ``save_as_jpeg`` of the photo resized by Willow, Willow's own and rdjpeg's."""
    from willow.plugins.pillow import PillowImage

    with Image.open(path) as im:
        image = PillowImage(im.convert("RGB")).resize(fit(im.size, 640))
    options = {"progressive": True, "optimize": True} if wagtail else {}

    def saved(save, q: int) -> bytes:
        out = io.BytesIO()
        save(image, out, quality=q, **options)
        return out.getvalue()

    stock, ours = willow_saves()
    files = {"stock": saved(stock, quality), "rdjpeg": saved(ours, quality)}
    return np.asarray(image.image), files, quality, functools.partial(saved, stock)


def sorl_files(path: str) -> tuple:
    """sorl's PIL engine on a thumbnail bounded by 320×320 (sorl's scale: Pillow's LANCZOS), quality 95."""
    from sorl.thumbnail.engines import pil_engine

    from rdjpeg_plugins import sorl

    with Image.open(path) as im:
        thumbnail = im.convert("RGB").resize(fit(im.size, 320), Image.Resampling.LANCZOS)

    def raw(engine, q: int) -> bytes:
        return engine()._get_raw_data(thumbnail, "JPEG", q, image_info={}, progressive=True)

    files = {"stock": raw(pil_engine.Engine, 95), "rdjpeg": raw(sorl.Engine, 95)}
    return np.asarray(thumbnail), files, 95, functools.partial(raw, pil_engine.Engine)


def webdataset_files(path: str) -> tuple:
    """WebDataset's handler for ``.jpg`` keys: its own (Pillow, quality 100) and rdjpeg's, full size."""
    from webdataset.writer import default_handlers

    from rdjpeg_plugins.webdataset import encoder

    with Image.open(path) as im:
        pixels = np.asarray(im.convert("RGB"))

    def pillow(q: int) -> bytes:  # WebDataset's imageencoder at another quality
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, "JPEG", quality=q)
        return out.getvalue()

    files = {"stock": default_handlers["jpg"](pixels), "rdjpeg": encoder()["jpg"](pixels),
             "rdjpeg_target80": encoder(target="ssimulacra2:80")["jpg"](pixels)}  # fmt: skip
    return pixels, files, 100, pillow


def measure(task: tuple[str, str, str]) -> dict:
    """One photo for one host: each file judged."""
    import warnings

    warnings.simplefilter("ignore")  # a target a photo cannot reach is in the figures, no need to warn
    host, path, ssimulacra2 = task
    if "django" in sys.modules or host in ("wagtail", "willow", "sorl"):
        from django.conf import settings

        if not settings.configured:  # Willow and sorl read Django's settings where Django is installed
            settings.configure()
    reference, files, quality, stock_at = {
        "thumbor": lambda: thumbor_files(path),
        "wagtail": lambda: willow_files(path, 76, wagtail=True),
        "willow": lambda: willow_files(path, 85, wagtail=False),
        "sorl": lambda: sorl_files(path),
        "webdataset": lambda: webdataset_files(path),
    }[host]()
    row = {"host": host, "path": os.path.basename(path), "size": list(reference.shape[1::-1]), "quality": quality}
    row.update({name: judged(reference, data, ssimulacra2) for name, data in files.items()})
    ladder = sorted({min(100, max(1, quality + step)) for step in LADDER} - {quality})
    row["stock_ladder"] = {q: judged(reference, stock_at(q), ssimulacra2, butteraugli=False) for q in ladder}
    return row


def stock_bytes_at(row: dict, score: float) -> tuple[float, bool]:
    """The host's bytes at ``score`` on this photo: log bytes interpolated along its quality ladder (with the
    default quality), and whether the ladder brackets the score. Below the ladder the lowest segment is extrapolated;
    above it (the host at quality 100 still below rdjpeg's look) its top file counts, which understates the saving."""
    points = sorted([(v["ssimulacra2"], v["bytes"]) for v in row["stock_ladder"].values()]
                    + [(row["stock"]["ssimulacra2"], row["stock"]["bytes"])])  # fmt: skip
    scores, sizes = np.array([p[0] for p in points]), np.log([p[1] for p in points])
    inside = scores[0] <= score <= scores[-1]
    if score > scores[-1]:
        return float(np.exp(sizes[-1])), False
    i = int(np.clip(np.searchsorted(scores, score), 1, len(scores) - 1))
    t = (score - scores[i - 1]) / (scores[i] - scores[i - 1])
    return float(np.exp(sizes[i - 1] + t * (sizes[i] - sizes[i - 1]))), bool(inside)


def summary(rows: list[dict]) -> dict:
    """Per host and file kind: total bytes, mean scores, bytes against stock, and photos below stock's look."""
    out = {}
    for host in dict.fromkeys(r["host"] for r in rows):
        mine = [r for r in rows if r["host"] == host]
        stock_bytes = sum(r["stock"]["bytes"] for r in mine)
        kinds = {}
        for kind in [k for k in mine[0] if isinstance(mine[0][k], dict) and "bytes" in mine[0][k]]:
            total = sum(r[kind]["bytes"] for r in mine)
            kinds[kind] = {
                "bytes": total,
                "vs_stock": total / stock_bytes - 1,
                "ssimulacra2_mean": float(np.mean([r[kind]["ssimulacra2"] for r in mine])),
                "ssimulacra2_min": float(np.min([r[kind]["ssimulacra2"] for r in mine])),
                "butteraugli_mean": float(np.mean([r[kind]["butteraugli"] for r in mine])),
                "below_stock_by_2": sum(r[kind]["ssimulacra2"] < r["stock"]["ssimulacra2"] - 2 for r in mine),
            }
        matched = [stock_bytes_at(r, r["rdjpeg"]["ssimulacra2"]) for r in mine]
        kinds["rdjpeg"]["vs_stock_at_equal_ssimulacra2"] = (sum(r["rdjpeg"]["bytes"] for r in mine)
                                                            / sum(size for size, _ in matched) - 1)  # fmt: skip
        kinds["rdjpeg"]["equal_look_bracketed"] = sum(inside for _, inside in matched)
        out[host] = {"photos": len(mine), "files": kinds}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True, help="a glob of photos (PNG)")
    parser.add_argument("--reference", required=True, help="libjxl's ssimulacra2 binary")
    parser.add_argument("--hosts", default=",".join(HOSTS[1:]), help=f"comma-separated, of {', '.join(HOSTS)}")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", required=True, help="where the rows and the summary go")
    args = parser.parse_args(argv)
    paths = sorted(glob.glob(args.images))
    tasks = [(host, path, args.reference) for host in args.hosts.split(",") for path in paths]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(measure, tasks))
    shards = shard_sizes(paths) if "webdataset" in args.hosts.split(",") else None
    result = {"date": time.strftime("%Y-%m-%d"), "images": args.images, "photos": len(paths),
              "command": " ".join(["benchmarks/hosts.py", *(argv if argv is not None else sys.argv[1:])]),
              "summary": summary(rows), "shards": shards, "rows": rows}  # fmt: skip
    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({"summary": result["summary"], "shards": shards}, indent=1))


def shard_sizes(paths: list[str]) -> dict:
    """Bytes of one shard of every photo (a ``.jpg`` and a ``.cls`` each) by TarWriter's default encoder and by rdjpeg's
    at quality 100's look and at a target."""
    import webdataset as wds

    from rdjpeg_plugins.webdataset import encoder

    sizes = {}
    for name, spec in (("stock", True), ("rdjpeg", encoder()), ("rdjpeg_target80", encoder(target="ssimulacra2:80"))):
        buffer = io.BytesIO()
        with wds.TarWriter(buffer, encoder=spec) as sink:
            for i, path in enumerate(paths):
                with Image.open(path) as im:
                    sink.write({"__key__": f"{i:04d}", "jpg": np.asarray(im.convert("RGB")), "cls": i})
        sizes[name] = len(buffer.getvalue())
    return sizes


if __name__ == "__main__":
    main()
