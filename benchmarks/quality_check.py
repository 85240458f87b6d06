"""Does ``quality`` keep its meaning? From an ``rdjpeg evaluate`` results.json holding the default (``rdjpeg``),
``pillow`` and the peers at the same qualities: per quality, the default's mean SSIMULACRA2 minus Pillow's (target
±2), its mean file size against Pillow's at the same quality, and against each peer at equal mean SSIMULACRA2 (the
peer's average curve interpolated in quality).

    .venv/bin/python benchmarks/quality_check.py runs/eval-default-kodak/results.json --peers mozjpeg,jpegli:optimize
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--default", default="rdjpeg")
    parser.add_argument("--peers", default="mozjpeg,jpegli:optimize")
    args = parser.parse_args(argv)
    with open(args.results) as f:
        result = json.load(f)
    records, qualities = result["records"], result["qualities"]

    def mean(codec: str, q: int, key: str) -> float:
        return float(np.mean([r[key] for r in records if r["codec"] == codec and r["quality"] == q]))

    peers = args.peers.split(",")
    print("| q | SSIMULACRA2: default / Pillow (Δ) | bytes vs Pillow at q | " +
          " | ".join(f"bytes vs {p} at equal SSIMULACRA2" for p in peers) + " |")  # fmt: skip
    print("|---" * (3 + len(peers)) + "|")
    for q in qualities:
        ours, pillow = mean(args.default, q, "ssimulacra2"), mean("pillow", q, "ssimulacra2")
        size = mean(args.default, q, "bytes")
        cells = [
            f"{q}",
            f"{ours:.1f} / {pillow:.1f} ({ours - pillow:+.1f})",
            f"{size / mean('pillow', q, 'bytes') - 1:+.1%}",
        ]
        for peer in peers:
            scores = [mean(peer, p, "ssimulacra2") for p in qualities]
            sizes = [mean(peer, p, "bytes") for p in qualities]
            inside = min(scores) <= ours <= max(scores)
            cells.append(f"{size / np.interp(ours, scores, sizes) - 1:+.1%}" if inside else "—")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
