"""Issue 32, thumbor under load: a local thumbor with rdjpeg's engine (at ``QUALITY`` 80, and with ``RDJPEG_TARGET =
"ssimulacra2:80"``) beside stock thumbor, each sent the same bounded run of requests.

Each server is ``integrations/thumbor_server.py`` in a subprocess: bound to 127.0.0.1, serving camera-like JPEGs (the
photos saved by Pillow at q95), every request a resize (``/unsafe/fit-in/SxS/photo.jpg``, S cycling 320, 480, 640:
no result storage, so each is encoded anew), stopped after the run (and by itself after ``--lifetime``). Per server:
``--warmup`` requests, then ``--requests`` at ``--concurrency``, sent in ``--rounds`` rounds that take the servers in
turn; errors (non-200 or no answer in 60 s), latency p50/p95, throughput, the server's RSS after the warm-up and at the
end. Run it in thumbor's venv (thumbor pins Pillow < 13):

    .venv-thumbor/bin/python benchmarks/thumbor_load.py --images "../shared/data/kodak/*.png" --requests 400 \\
        --concurrency 8 --json benchmarks/results/hosts-thumbor-load.json
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

SERVER = Path(__file__).resolve().parents[1] / "integrations" / "thumbor_server.py"
MODES = {"stock": ["--stock"], "rdjpeg": [], "rdjpeg_target80": ["--target", "ssimulacra2:80"]}
SIDES = (320, 480, 640)


def rss(pid: int) -> int:
    """The process's resident set, in bytes (Linux)."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


def get(url: str) -> tuple[int, float, int]:
    """(status, seconds, bytes) of one GET; status 0 when no answer came within 60 s."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            size, status = len(response.read()), response.status
    except urllib.error.HTTPError as error:
        size, status = 0, error.code
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        size, status = 0, 0
    return status, time.perf_counter() - start, size


class Server:
    """One thumbor in a subprocess, its URLs, and the results of the requests sent to it."""

    def __init__(self, root: str, flags: list[str], lifetime: float) -> None:
        self.process = subprocess.Popen([sys.executable, str(SERVER), root, "--lifetime", str(lifetime), *flags],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
        self.base = self.process.stdout.readline().strip()
        assert self.base.startswith("http://127.0.0.1:"), self.base
        self.results: list[tuple[int, float, int]] = []
        self.wall = 0.0

    def url(self, i: int, names: list[str]) -> str:
        side = SIDES[i % len(SIDES)]
        return f"{self.base}/unsafe/fit-in/{side}x{side}/{names[i % len(names)]}"

    def wait_ready(self, names: list[str]) -> None:
        deadline = time.monotonic() + 30
        while get(self.url(0, names))[0] != 200:  # the socket is bound before thumbor has imported
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"thumbor at {self.base} did not start")
            time.sleep(0.2)

    def send(self, pool: ThreadPoolExecutor, indices: range, names: list[str]) -> None:
        start = time.perf_counter()
        self.results += pool.map(get, [self.url(i, names) for i in indices])
        self.wall += time.perf_counter() - start

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def figures(self, warm_rss: int, end_rss: int) -> dict:
        latencies = np.array([seconds for status, seconds, _ in self.results if status == 200])
        return {
            "requests": len(self.results),
            "errors": sum(status != 200 for status, _, _ in self.results),
            "p50_ms": float(np.percentile(latencies, 50) * 1000),
            "p95_ms": float(np.percentile(latencies, 95) * 1000),
            "requests_per_s": len(self.results) / self.wall,
            "bytes_mean": float(np.mean([size for status, _, size in self.results if status == 200])),
            "rss_warm_mb": warm_rss / 2**20,
            "rss_end_mb": end_rss / 2**20,
            "rss_growth": end_rss / warm_rss - 1,
        }


def run(root: str, names: list[str], modes: list[str], args) -> dict:
    """Every server up at once; after the warm-up, ``--rounds`` rounds, each sending every server its share of the
    requests in turn (so that a change in the machine's load falls on all alike); every server stopped at the end."""
    servers: dict[str, Server] = {}
    try:
        for mode in modes:
            servers[mode] = Server(root, MODES[mode], args.lifetime)
        with ThreadPoolExecutor(args.concurrency) as pool:
            for server in servers.values():
                server.wait_ready(names)
                list(pool.map(get, [server.url(i, names) for i in range(args.warmup)]))
            warm = {mode: rss(server.process.pid) for mode, server in servers.items()}
            share = args.requests // args.rounds
            for r in range(args.rounds):
                for server in servers.values():
                    server.send(pool, range(args.warmup + r * share, args.warmup + (r + 1) * share), names)
        return {mode: server.figures(warm[mode], rss(server.process.pid)) for mode, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True, help="a glob of photos (PNG), served as q95 JPEGs")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--lifetime", type=float, default=900, help="each server stops by itself after this")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--json", help="where the figures go")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # a stopped run still stops its servers (finally)
    with tempfile.TemporaryDirectory() as root:
        names = []
        for path in sorted(glob.glob(args.images)):
            name = os.path.splitext(os.path.basename(path))[0] + ".jpg"
            with Image.open(path) as im:
                im.convert("RGB").save(os.path.join(root, name), quality=95)
            names.append(name)
        figures = run(root, names, args.modes.split(","), args)
    for mode, row in figures.items():
        if mode != "stock" and "stock" in figures:
            row["p50_vs_stock"] = row["p50_ms"] / figures["stock"]["p50_ms"]
            row["p95_vs_stock"] = row["p95_ms"] / figures["stock"]["p95_ms"]
            row["bytes_vs_stock"] = row["bytes_mean"] / figures["stock"]["bytes_mean"] - 1
    result = {"date": time.strftime("%Y-%m-%d"), "photos": len(names), "cpus": os.cpu_count(),
              "command": " ".join(["benchmarks/thumbor_load.py", *(argv if argv is not None else sys.argv[1:])]),
              "figures": figures}  # fmt: skip
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
