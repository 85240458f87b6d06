"""The ``rdjpeg`` command line.

Each subcommand imports its module when it runs, so that ``rdjpeg compress`` does not load what only evaluation and
training need (``bjontegaard`` and ``matplotlib`` come with an optional extra).
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import sys

from PIL import Image

from . import __version__
from .extras import require
from .files import EXISTING, image_paths, write_atomically
from .images import open_image
from .jpeg.tables import SUBSAMPLINGS
from .registry import backends


def simulate(args: argparse.Namespace) -> int:
    """Run the simulator on one image, compare with Pillow's real codec, optionally save the simulated decode."""
    require("learned", "rdjpeg simulate")
    import numpy as np
    import torch

    from .images import image_to_tensor
    from .learned.simulator import simulate_jpeg
    from .scores import psnr

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
    print(f"  simulated vs input:       {psnr(a, out):.2f} dB")
    verdict = "bit-exact" if np.array_equal(out, real) else "differs"
    print(f"  simulated vs real decode: {psnr(real, out):.2f} dB ({verdict})")
    print(f"  real file: {buf.tell()} bytes, {8 * buf.tell() / (a.shape[0] * a.shape[1]):.3f} bpp")
    if args.output:
        png = io.BytesIO()
        Image.fromarray(out).save(png, "PNG")
        write_atomically(args.output, png.getvalue())
        print(f"  wrote {args.output}")
    return 0


def compress(args: argparse.Namespace) -> int:
    """Compress inputs to standard JPEGs; exit 0 if all were written (or skipped), 1 if any failed, 2 for a usage
    error (nothing is written)."""
    from .compress import STDIO, plan_jobs, run_jobs
    from .plan import make_plan

    options = {"metric": args.metric, "backend": args.backend, "max_bytes": args.max_bytes, "target": args.target}
    if args.plain:
        options.update(prefilter=None, masking=False)
    table = int(args.table) if args.table and args.table.isdigit() else args.table
    jpeg = {"subsampling": args.subsampling, "optimize": args.optimize or None,
            "progressive": args.progressive or None, "table": table}  # fmt: skip
    options.update({k: v for k, v in jpeg.items() if v is not None})
    try:
        jobs = plan_jobs(args.inputs, args.output, args.follow_symlinks)
        plan = make_plan(args.quality, **options)
    except (TypeError, ValueError) as error:
        print(f"rdjpeg: error: {error}", file=sys.stderr)
        return 2
    for path, reason in jobs.skipped:
        print(f"rdjpeg: skipped {path}: {reason}", file=sys.stderr)
    existing = "overwrite" if args.overwrite else args.existing
    progress = not args.quiet and sys.stderr.isatty()
    to_stdout = args.output == STDIO  # the file goes to stdout: every message to stderr

    def log(line: str) -> None:
        print(line, file=sys.stderr if to_stdout else sys.stdout)

    import warnings

    from .targets import TargetNotReached

    warnings.simplefilter("ignore", TargetNotReached)  # each file's line says so
    result = run_jobs(jobs.jobs, plan, existing, args.jobs, progress, not args.strip, log, args.max_pixels,
                      args.report)  # fmt: skip
    if "signal" in result:
        print(f"rdjpeg: stopped by {signal.Signals(result['signal']).name}: {result['summary']}", file=sys.stderr)
        return 128 + result["signal"]
    if len(jobs.jobs) > 1 or result["failed"]:
        print(result["summary"], file=sys.stderr)
    return 1 if result["failed"] else 0


def _quality(text: str) -> int:
    """argparse type of a JPEG quality: one line of error, not the hundred valid choices listed."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"quality must be an integer from 1 to 100, got {text!r}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


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
    from .learned.evaluate import Codec
    from .learned.evaluate import evaluate as run_evaluation
    from .learned.report import markdown_table, write_report
    from .registry import get_metric

    images = image_paths(args.images)
    if not images:
        print(f"rdjpeg: error: no images match {args.images}", file=sys.stderr)
        return 2
    if args.crops and not args.out:
        print("rdjpeg: error: --crops needs --out (the folder the pictures go to)", file=sys.stderr)
        return 2
    try:  # the spelling of the arguments: a usage error (exit 2), before any work
        for spec in args.codecs:
            Codec.parse(spec)
        for name in args.metrics:
            get_metric(name)
    except ValueError as error:
        print(f"rdjpeg evaluate: error: {error}", file=sys.stderr)
        return 2
    result = run_evaluation(images, args.codecs, args.qualities, args.metrics, args.jobs, progress=not args.quiet)
    print(markdown_table(result["summary"], result["metrics"]))
    if args.out:
        paths = write_report(result, args.out)
        print(f"wrote {', '.join(paths.values())}")
    if args.crops:
        quality = args.crop_quality or sorted(args.qualities)[len(args.qualities) // 2]
        for path in write_crops(images, args.codecs, quality, args.crops, args.out):
            print(f"wrote {path}")
    return 0


def write_crops(images: list[str], codecs: list[str], quality: int, count: int, out: str) -> list[str]:
    """Crop figures (:mod:`rdjpeg.learned.crops`) for ``count`` images spread over the list, in ``out/crops``."""
    import numpy as np

    from .learned.crops import crop_figure

    folder = os.path.join(out, "crops")
    os.makedirs(folder, exist_ok=True)
    chosen = [images[round(i * (len(images) - 1) / max(1, count - 1))] for i in range(min(count, len(images)))]
    paths = []
    for image in dict.fromkeys(chosen):
        figure = crop_figure(np.asarray(open_image(image)), codecs, quality)
        stem = os.path.splitext(os.path.basename(image))[0]
        paths.append(os.path.join(folder, f"{stem}_q{quality}.png"))
        png = io.BytesIO()
        figure.save(png, "PNG")
        write_atomically(paths[-1], png.getvalue())
    return paths


def train_rate(args: argparse.Namespace) -> int:
    from .learned.train.rate import train_rate as run

    run(args.data, args.out, steps=args.steps, batch=args.batch, lr=args.lr, hidden=args.hidden, seed=args.seed,
        val_every=args.val_every, minutes=args.minutes, init=args.init, prefilters=args.prefilters,
        edited=args.edited)  # fmt: skip
    return 0


def train_prefilter(args: argparse.Namespace) -> int:
    from .learned.train.prefilter import PrefilterConfig
    from .learned.train.prefilter import train_prefilter as run

    fields = PrefilterConfig.__dataclass_fields__
    cfg = PrefilterConfig(**{k: v for k, v in vars(args).items() if k in fields and v is not None})
    run(args.data, args.out, cfg, minutes=args.minutes)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rdjpeg", description="Smaller JPEGs at the look you ask for.")
    parser.add_argument("--version", action="version", version=f"rdjpeg {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_compress(commands)
    _add_simulate(commands)
    _add_evaluate(commands)
    train = commands.add_parser("train", help="train rdjpeg's networks").add_subparsers(dest="model", required=True)
    _add_train_rate(train)
    _add_train_prefilter(train)
    _add_train_look(train)
    return parser


def _add_compress(commands) -> None:
    """``rdjpeg compress``."""
    p = commands.add_parser(
        "compress", help="compress images to standard JPEGs",
        description="Compress images to standard JPEGs with rdjpeg's default encoder (or a learned pipeline with "
        "--metric). Inputs are files, globs (quote them; ** recurses) or folders (their whole tree, mirrored under "
        "-o). Outputs are written atomically. Exit status: 0 all written or skipped, 1 some failed, 2 usage error.",
    )  # fmt: skip
    p.add_argument("inputs", nargs="+", help="image files, globs or folders; - reads one image from stdin")
    p.add_argument("-o", "--output", required=True,
                   help="output file for one input file (- writes it to stdout); otherwise a folder (created if "
                   "missing)")  # fmt: skip
    p.add_argument(
        "-q",
        "--quality",
        type=_quality,
        metavar="1..100",
        help="JPEG quality, the look of Pillow's JPEG at it, on every photo (default 75; with --max-bytes the "
        "highest quality tried, default 100)",
    )
    p.add_argument("--metric", help="a learned pipeline (the learned extra): mse (the paper's, on Pillow's encoder), "
                   "msssim, lpips (default: none, rdjpeg's default encoder at the quality that keeps Pillow's look)"
                   )  # fmt: skip
    p.add_argument("--backend", help=f"JPEG encoder: {', '.join(backends())} (default: 'default' without --metric, "
                   "pillow with one)")  # fmt: skip
    p.add_argument(
        "--table",
        help="the encoder's base quantization table, for backends that take one (mozjpeg: "
        "imagemagick (default), flat, ms-ssim, annex-k, psnr-hvs, klein, watson, ahumada, peterson or 0..8)",
    )
    p.add_argument("--max-bytes", type=int, help="target size: the highest quality whose file fits")
    p.add_argument("--target", metavar="METRIC:VALUE",
                   help="the smallest file whose score is at least this, measured: ssimulacra2:80 (50 medium, 70 "
                   "high, 90 visually lossless) or psnr:40; each file's quality and score are printed")  # fmt: skip
    p.add_argument("--report", metavar="FILE.csv|FILE.json",
                   help="also write every file's result (bytes, quality, score, …) as a table")  # fmt: skip
    p.add_argument("--subsampling", choices=list(SUBSAMPLINGS),
                   help="chroma subsampling (default: the default encoder's choice per photo, else 4:2:0)")  # fmt: skip
    p.add_argument("--optimize", action="store_true", help="optimized Huffman tables")
    p.add_argument("--progressive", action="store_true", help="progressive JPEG")
    p.add_argument("--plain", action="store_true", help="no prefilter and no masking: the backend's plain JPEG (for "
                   "comparisons; --backend pillow for Pillow's)")  # fmt: skip
    p.add_argument("--strip", action="store_true", help="drop EXIF and ICC profile (kept by default)")
    p.add_argument("--follow-symlinks", action="store_true",
                   help="follow symbolic links inside input folders (passed over and reported by default)")  # fmt: skip
    p.add_argument("--max-pixels", type=_positive, default=Image.MAX_IMAGE_PIXELS, metavar="N",
                   help="larger images fail (one line each) before they are decoded; the batch goes on (default: "
                   "Pillow's MAX_IMAGE_PIXELS, %(default)s)")  # fmt: skip
    p.add_argument("--existing", choices=EXISTING, default="error",
                   help="what to do when an output exists (default: error, exit 1)")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="same as --existing overwrite")
    p.add_argument("-j", "--jobs", type=int, default=1, help="images encoded at once (default 1): threads for the "
                   "default encoder, worker processes for a learned pipeline")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-file lines")
    p.set_defaults(run=compress)


def _add_simulate(commands) -> None:
    """``rdjpeg simulate``."""
    p = commands.add_parser("simulate", help="simulate a JPEG encode→decode and compare it with the real codec")
    p.add_argument("input", help="an image file Pillow can read")
    p.add_argument("-q", "--quality", type=_quality, default=75, metavar="1..100")
    p.add_argument("--subsampling", default="4:2:0", choices=list(SUBSAMPLINGS))
    p.add_argument("-o", "--output", help="write the simulated decode here (PNG)")
    p.set_defaults(run=simulate)


def _add_evaluate(commands) -> None:
    """``rdjpeg evaluate``."""
    p = commands.add_parser("evaluate", help="RD evaluation of codecs with the real encoders and decoder (BD-rates)")
    p.add_argument("--images", nargs="+", required=True, help="image files, globs (** allowed) or folders")
    p.add_argument("--codecs", type=_csv(), default=["pillow"], help="e.g. pillow,pillow:optimize+progressive,mozjpeg")
    p.add_argument("--qualities", type=_csv(int), default=[10, 20, 30, 40, 50, 60, 70, 80, 90])
    p.add_argument("--metrics", type=_csv(), default=["psnr"],
                   help="comma-separated: psnr, msssim, lpips, ssimulacra2, butteraugli (3-norm), butteraugli-max, "
                   "psnr-hvs-m")  # fmt: skip
    p.add_argument("-j", "--jobs", type=int, default=1, help="worker processes")
    p.add_argument("--out", help="folder for results.json, results.md and rd_<metric>.png")
    p.add_argument("--crops", type=int, default=0, metavar="N",
                   help="also write side-by-side crops of every codec at matched file size (±2 %%) for N images, "
                   "in OUT/crops: the first codec at --crop-quality, the others at the quality nearest its size",
                   )  # fmt: skip
    p.add_argument("--crop-quality", type=_quality, metavar="1..100",
                   help="the first codec's quality in the crops (default: the middle of --qualities)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=evaluate)


def _add_train_rate(train) -> None:
    """``rdjpeg train rate``."""
    p = train.add_parser("rate", help="train the rate network on real file sizes (resumable)")
    p.add_argument("--data", nargs="+", required=True, help="folders of training images (never Kodak)")
    p.add_argument("--out", required=True, help="folder for checkpoint.pt, rate.safetensors and log.jsonl")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--minutes", type=float, help="stop (resumably) after this many minutes")
    p.add_argument("--init", help="start from these rate weights (.safetensors): fine-tuning")
    p.add_argument("--prefilters", type=_csv(), default=[], metavar="W,W,…",
                   help="prefilter weights whose edits a share of the training crops gets, so that R̂ learns the "
                   "sizes of prefiltered images too")  # fmt: skip
    p.add_argument("--edited", type=float, default=0.5, help="share of crops edited by --prefilters (default 0.5)")
    p.set_defaults(run=train_rate)


def _add_train_prefilter(train) -> None:
    """``rdjpeg train prefilter``."""
    p = train.add_parser("prefilter", help="train the prefilter on D + λ(x)·R̂ through the simulator (resumable; "
                         "works under torchrun for DDP)")  # fmt: skip
    p.add_argument("--data", nargs="+", required=True, help="folders of training images (never Kodak)")
    p.add_argument("--out", required=True, help="folder for checkpoint.pt, prefilter.safetensors, log.jsonl")
    p.add_argument("--metric", default="mse", help="mse, msssim, lpips or a registered metric")
    p.add_argument("--steps", type=int, help="training steps; 0 with --init only validates and calibrates --strengths")
    p.add_argument("--batch", type=int)
    p.add_argument("--crop", type=int, help="training crop side in pixels")
    p.add_argument("--lr", type=float)
    p.add_argument("--channels", type=int)
    p.add_argument("--blocks", type=int)
    p.add_argument("--luma-mlp", type=int, help="hidden units of the per-coefficient pathway for Y coefficients "
                   "(0: none); weights without one may --init a run with one")  # fmt: skip
    p.add_argument("--chroma-mlp", type=int, help="the same for Cb/Cr coefficients")
    p.add_argument("--quality-min", type=int)
    p.add_argument("--quality-max", type=int)
    p.add_argument(
        "--lambda",
        dest="lambda_mode",
        help="exact: λ(x) from real encodes (default); fast: its closed form; fixed: one λ per quality (ablation)",
    )
    p.add_argument("--lambda-scale", type=float, help="train at this multiple of λ(x) (default 1; > 1 makes the "
                   "network trade more distortion for rate)")  # fmt: skip
    p.add_argument("--rate", help="rate model: network (default) or rho, the ρ-domain proxy (ablation)")
    p.add_argument("--rounding", help="quantizer surrogate: mask (default), ste or cubic")
    p.add_argument("--masking", action=argparse.BooleanOptionalAction,
                   help="train in front of adaptive masking (default: as encode() does, i.e. for mse)")  # fmt: skip
    p.add_argument("--val-every", type=int, help="steps between real-codec validations")
    p.add_argument("--val-images", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--init", help="start from these weights (.safetensors from a previous run): fine-tuning")
    p.add_argument("--strengths", type=_csv(float), metavar="S,S,…",
                   help="after training, scale the best model's edits by whichever of these gives the best real "
                   "BD-rate on the validation images (e.g. 1.15,1.3,1.45)")  # fmt: skip
    p.add_argument("--minutes", type=float, help="stop (resumably) after this many minutes")
    p.set_defaults(run=train_prefilter)


def train_look(args: argparse.Namespace) -> int:
    from .train_look import train_look as run

    run(args.data, args.out, args.workers, command=" ".join(["rdjpeg", *args.argv]))
    return 0


def _add_train_look(train) -> None:
    """``rdjpeg train look``."""
    p = train.add_parser("look", help="fit the look predictor (jpegli's SSIMULACRA2 and size per image) on real "
                         "encodes of training images (resumable)")  # fmt: skip
    p.add_argument("--data", nargs="+", required=True, help="folders of training images (never Kodak)")
    p.add_argument("--out", required=True, help="folder for curves.jsonl (the measurements) and look.json")
    p.add_argument("--workers", type=_positive, default=2, help="processes that measure (default 2)")
    p.set_defaults(run=train_look)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv  # what a training run records beside its weights
    try:
        return args.run(args)
    except (OSError, ValueError, ImportError) as error:
        print(f"rdjpeg: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
