"""Prefilter speed on CPU: a 768×512 image (target ≤ 40 ms on 2 threads) and a tiled 24-megapixel image (peak memory);
and the adaptive masking stage on the same 768×512 image.

Each configuration runs in a fresh subprocess, so that peak RSS (``ru_maxrss``) belongs to it alone.

Usage:
    python benchmarks/speed.py
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from rdjpeg.learned.models.masking import ITERATIONS

CONFIGS = [(32, 4, 8), (48, 4, 8), (64, 4, 8)]  # channels, blocks, scale (8: one cell per JPEG block)


def run_one(channels: int, blocks: int, scale: int, channels_last: bool, big: bool) -> dict:
    import torch

    from rdjpeg.learned.models.prefilter import Prefilter

    threads = torch.get_num_threads()  # the user's setting (OMP_NUM_THREADS)
    torch.manual_seed(0)
    model = Prefilter(channels, blocks, scale).eval()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    params = sum(p.numel() for p in model.parameters())
    with torch.inference_mode():
        if big:
            x = torch.rand(1, 3, 4000, 6000).to(memory_format=fmt)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            start = time.perf_counter()
            model.forward_tiled(x, 75, tile=512)
            seconds = time.perf_counter() - start
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return {"params": params, "threads": threads, "seconds_24mp": seconds, "peak_rss_mb": peak / 1024,
                    "rss_before_mb": before / 1024}  # fmt: skip
        x = torch.rand(1, 3, 512, 768).to(memory_format=fmt)
        for _ in range(3):
            model(x, 75)
        times = []
        for _ in range(15):
            start = time.perf_counter()
            model(x, 75)
            times.append(time.perf_counter() - start)
        times.sort()
        return {"params": params, "threads": threads, "median_ms": 1000 * times[len(times) // 2],
                "megapixels_per_s": 768 * 512 / times[len(times) // 2] / 1e6}  # fmt: skip


def masking_ms() -> float:
    """Median time of adaptive masking (default rounds, fast λ) on a 768×512 photo-like image."""
    import torch
    import torch.nn.functional as F

    from rdjpeg.learned.models.masking import adaptive_masking

    torch.manual_seed(0)
    x = F.interpolate(torch.rand(1, 3, 64, 96), size=(512, 768), mode="bicubic").clamp(0, 1)
    x = (x + 0.03 * torch.randn_like(x)).clamp(0, 1)
    times = []
    for _ in range(7):
        start = time.perf_counter()
        adaptive_masking(x, 50)
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[len(times) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "masking":
        print(json.dumps({"masking_ms": masking_ms()}))
        return 0
    if args.child:
        print(json.dumps(run_one(**json.loads(args.child))))
        return 0
    print("| channels × blocks, scale | parameters | format | 768×512 median | throughput | 24 MP tiled | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for channels, blocks, scale in CONFIGS:
        for channels_last in (True,):  # NCHW measured 1.2–1.7× slower (BENCHMARKS.md)
            results = {}
            for big in (False, True):
                spec = json.dumps({"channels": channels, "blocks": blocks, "scale": scale,
                                   "channels_last": channels_last, "big": big})  # fmt: skip
                out = subprocess.run([sys.executable, __file__, "--child", spec], capture_output=True, text=True,
                                     check=True)  # fmt: skip
                results |= json.loads(out.stdout.strip().splitlines()[-1])
            layout = "channels-last" if channels_last else "NCHW"
            print(f"| {channels} × {blocks}, {scale} | {results['params']:,} | {layout} | "
                  f"{results['median_ms']:.1f} ms | {results['megapixels_per_s']:.1f} MP/s | "
                  f"{results['seconds_24mp']:.1f} s | {results['peak_rss_mb']:.0f} MB |", flush=True)  # fmt: skip
    out = subprocess.run([sys.executable, __file__, "--child", "masking"], capture_output=True, text=True, check=True)
    masking = json.loads(out.stdout.strip().splitlines()[-1])["masking_ms"]
    print(f"adaptive masking, 768×512, {ITERATIONS} rounds: {masking:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
