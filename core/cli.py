"""The ``rdjpeg`` command line."""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
import tempfile

import numpy as np
import torch
from PIL import Image

from . import __version__
from .codec import encode, image_to_tensor, open_image
from .runtime import set_default_threads
from .simulator import SUBSAMPLINGS, simulate_jpeg


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def _write_atomically(path: str, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename: a failure never leaves a partial file."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".rdjpeg-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def simulate(args: argparse.Namespace) -> int:
    """Run the simulator on one image, compare with Pillow's real codec, optionally save the simulated decode."""
    image = open_image(args.input)
    a = np.asarray(image)
    x = image_to_tensor(a)
    with torch.inference_mode():
        sim = simulate_jpeg(x, args.quality, args.subsampling)
    out = (sim.decoded[0] * 255).round().to(torch.uint8).numpy()
    out = out[0] if a.ndim == 2 else out.transpose(1, 2, 0)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=args.quality, subsampling=args.subsampling)
    real = np.asarray(Image.open(buf))
    print(f"{args.input}: {a.shape[1]}×{a.shape[0]}, quality {args.quality}, {args.subsampling}")
    print(f"  simulated vs input:       {_psnr(out, a):.2f} dB")
    verdict = "bit-exact" if np.array_equal(out, real) else "differs"
    print(f"  simulated vs real decode: {_psnr(out, real):.2f} dB ({verdict})")
    print(f"  real file: {buf.tell()} bytes, {8 * buf.tell() / (a.shape[0] * a.shape[1]):.3f} bpp")
    if args.output:
        png = io.BytesIO()
        Image.fromarray(out).save(png, "PNG")
        _write_atomically(args.output, png.getvalue())
        print(f"  wrote {args.output}")
    return 0


def compress(args: argparse.Namespace) -> int:
    """Compress each input to an RD-optimized JPEG; files are written atomically and never overwritten silently."""
    import time

    many = len(args.inputs) > 1 or os.path.isdir(args.output)
    if many and not os.path.isdir(args.output):
        print(f"rdjpeg: error: with several inputs, -o must be an existing folder: {args.output}", file=sys.stderr)
        return 2
    failures = 0
    for path in args.inputs:
        name = os.path.splitext(os.path.basename(path))[0] + ".jpg"
        target = os.path.join(args.output, name) if many else args.output
        if os.path.exists(target) and not args.overwrite:
            print(f"rdjpeg: skipped {path}: {target} exists (use --overwrite)", file=sys.stderr)
            failures += 1
            continue
        start = time.perf_counter()
        try:
            image = open_image(path)
            data = encode(image, args.quality, args.metric, args.backend, args.effort)
            _write_atomically(target, data)
        except (OSError, ValueError, ImportError) as error:
            print(f"rdjpeg: error: {path}: {error}", file=sys.stderr)
            failures += 1
            continue
        bpp = 8 * len(data) / (image.width * image.height)
        print(f"{path} -> {target}: {len(data)} bytes, {bpp:.3f} bpp, {time.perf_counter() - start:.1f} s")
    return 1 if failures else 0


def _csv(kind: type = str):
    def parse(text: str) -> list:
        try:
            values = [kind(v) for v in text.split(",") if v.strip()]
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {kind.__name__}: {text!r}") from error
        if not values:
            raise argparse.ArgumentTypeError("expected at least one value")
        return values

    return parse


def evaluate(args: argparse.Namespace) -> int:
    """Real-codec RD evaluation: table on stdout, JSON/markdown/plots in --out."""
    from .evaluate import evaluate as run_evaluation
    from .evaluate import expand_images, markdown_table, write_report

    images = expand_images(args.images)
    if not images:
        print(f"rdjpeg: error: no images match {args.images}", file=sys.stderr)
        return 2
    result = run_evaluation(images, args.codecs, args.qualities, args.metrics, args.jobs, progress=not args.quiet)
    print(markdown_table(result["summary"], result["metrics"]))
    if args.out:
        paths = write_report(result, args.out)
        print(f"wrote {', '.join(paths.values())}")
    return 0


def train_rate(args: argparse.Namespace) -> int:
    from .train.rate import train_rate as run

    run(args.data, args.out, steps=args.steps, batch=args.batch, lr=args.lr, hidden=args.hidden, seed=args.seed,
        val_every=args.val_every, minutes=args.minutes)  # fmt: skip
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rdjpeg", description="Rate-distortion-optimized preprocessing for JPEG.")
    parser.add_argument("--version", action="version", version=f"rdjpeg {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("compress", help="compress images to RD-optimized standard JPEGs")
    p.add_argument("inputs", nargs="+", help="image files Pillow can read")
    p.add_argument("-o", "--output", required=True, help="output file, or a folder for several inputs")
    p.add_argument("-q", "--quality", type=int, default=75, choices=range(1, 101), metavar="1..100")
    p.add_argument("--metric", default="mse", help="what to optimize for: mse, msssim, lpips")
    p.add_argument("--effort", type=int, default=0, help="per-image optimization steps (0: none)")
    p.add_argument("--backend", default="pillow", help="JPEG encoder: pillow, mozjpeg, jpegli")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(run=compress)

    p = commands.add_parser("simulate", help="simulate a JPEG encode→decode and compare it with the real codec")
    p.add_argument("input", help="an image file Pillow can read")
    p.add_argument("-q", "--quality", type=int, default=75, choices=range(1, 101), metavar="1..100")
    p.add_argument("--subsampling", default="4:2:0", choices=list(SUBSAMPLINGS))
    p.add_argument("-o", "--output", help="write the simulated decode here (PNG)")
    p.set_defaults(run=simulate)

    p = commands.add_parser("evaluate", help="RD evaluation of codecs with the real encoders and decoder (BD-rates)")
    p.add_argument("--images", nargs="+", required=True, help="image files, globs (** allowed) or folders")
    p.add_argument("--codecs", type=_csv(), default=["pillow"], help="e.g. pillow,pillow:optimize+progressive,mozjpeg")
    p.add_argument("--qualities", type=_csv(int), default=[10, 20, 30, 40, 50, 60, 70, 80, 90])
    p.add_argument("--metrics", type=_csv(), default=["psnr"], help="comma-separated: psnr,msssim,lpips")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    p.add_argument("--out", help="folder for results.json, results.md and rd_<metric>.png")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=evaluate)

    train = commands.add_parser("train", help="train rdjpeg's networks").add_subparsers(dest="model", required=True)
    p = train.add_parser("rate", help="train the rate network on real Pillow file sizes (resumable)")
    p.add_argument("--data", nargs="+", required=True, help="folders of training images (never Kodak)")
    p.add_argument("--out", required=True, help="folder for checkpoint.pt, rate.safetensors and log.jsonl")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--minutes", type=float, help="stop (resumably) after this many minutes")
    p.set_defaults(run=train_rate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    set_default_threads()
    try:
        return args.run(args)
    except (OSError, ValueError, ImportError) as error:
        print(f"rdjpeg: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
