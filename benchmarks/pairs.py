"""BD-rates between any two codecs of an ``rdjpeg evaluate`` results.json (like-for-like pairs).

Usage:
    python benchmarks/pairs.py results.json "rdjpeg:backend=mozjpeg=mozjpeg" "rdjpeg=pillow"
Each pair is TEST=ANCHOR, split at the last "=" that leaves two known codec labels.
"""

from __future__ import annotations

import argparse
import json

from rdjpeg.report import summarize


def split_pair(pair: str, labels: list[str]) -> tuple[str, str]:
    for i in range(len(pair)):
        if pair[i] == "=" and pair[:i] in labels and pair[i + 1 :] in labels:
            return pair[:i], pair[i + 1 :]
    raise SystemExit(f"{pair!r} is not TEST=ANCHOR with codecs from {labels}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("pairs", nargs="+")
    args = parser.parse_args()
    with open(args.results) as f:
        result = json.load(f)
    labels = sorted({r["codec"] for r in result["records"]})
    metrics = result["metrics"]
    print("| test | anchor | " + " | ".join(f"{m} BD-rate (avg curve / per-image)" for m in metrics) + " |")
    print("|---|---|" + "---|" * len(metrics))
    for pair in args.pairs:
        test, anchor = split_pair(pair, labels)
        records = [r for r in result["records"] if r["codec"] in (test, anchor)]
        bd = summarize(records, [anchor, test], metrics)["bd_rate"]
        cells = [f"{bd[m][test]['average_curve']:+.2f} % / {bd[m][test]['mean_per_image']:+.2f} %" for m in metrics]
        print(f"| {test} | {anchor} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
