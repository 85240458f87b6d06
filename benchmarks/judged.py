"""BD-rate tables of every codec in an ``rdjpeg evaluate`` results.json against several anchors, one table per anchor,
each rdjpeg row marked with the metric its pipeline was trained on.

    .venv/bin/python benchmarks/judged.py runs/eval-kodak-judges/results.json --anchors pillow,mozjpeg,jpegli:optimize \
        --metrics ssimulacra2,butteraugli,psnr,msssim,lpips
"""

from __future__ import annotations

import argparse
import json
import os

from rdjpeg.learned.evaluate import Codec
from rdjpeg.learned.report import plot_curves, summarize


def trained_on(label: str) -> str:
    """The metric an rdjpeg pipeline optimizes, or "—" for a plain encoder and rdjpeg's default (no metric)."""
    codec = Codec.parse(label)
    return str(codec.options.get("metric", "— (default encoder)")) if codec.name == "rdjpeg" else "—"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--anchors", default="pillow,mozjpeg,jpegli:optimize")
    parser.add_argument("--metrics", help="default: every metric in the results")
    parser.add_argument("--per-image", action="store_true", help="also the mean of per-image BD-rates")
    parser.add_argument("--plot", metavar="DIR", help="also write rd_<metric>.png of --plot-codecs in DIR")
    parser.add_argument("--plot-codecs", help="the codecs to plot (default: all)")
    args = parser.parse_args(argv)
    with open(args.results) as f:
        result = json.load(f)
    metrics = args.metrics.split(",") if args.metrics else result["metrics"]
    labels = result["codecs"]
    for anchor in args.anchors.split(","):
        print(f"\nAgainst **{anchor}** (BD-rate; negative = smaller files at equal quality"
              f"{'; average curve / per image' if args.per_image else ', average curve'}):\n")  # fmt: skip
        print("| codec | trained on | " + " | ".join(metrics) + " |")
        print("|---|---|" + "---|" * len(metrics))
        others = [label for label in labels if label != anchor]
        bd = summarize([r for r in result["records"] if r["codec"] in labels], [anchor, *others], metrics)["bd_rate"]
        for label in others:
            cells = []
            for m in metrics:
                value = bd[m][label]
                cells.append(f"{value['average_curve']:+.1f} %"
                             + (f" / {value['mean_per_image']:+.1f} %" if args.per_image else ""))  # fmt: skip
            print(f"| {label} | {trained_on(label)} | " + " | ".join(cells) + " |")
    if args.plot:
        chosen = args.plot_codecs.split(",") if args.plot_codecs else labels
        records = [r for r in result["records"] if r["codec"] in chosen]
        os.makedirs(args.plot, exist_ok=True)
        for path in plot_curves(summarize(records, chosen, metrics), metrics, args.plot):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
