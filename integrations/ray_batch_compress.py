"""Ray Data: compress a whole folder (or object-store prefix) of images with rdjpeg on a Ray cluster.

python integrations/ray_batch_compress.py IN OUT --quality 75 [--workers 2] [--metric msssim] [--existing skip]

IN and OUT are local folders or pyarrow file-system URIs (``s3://bucket/photos``). Without a running cluster it
starts a local one. Prints a table of the inputs that failed and a summary; exits 1 when any input failed. Needs
``pip install 'rdjpeg[ray]'``.
"""

from __future__ import annotations

import argparse
import sys

import ray

from rdjpeg.distributed import compress_on_ray, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", help="folder or URI of the images")
    parser.add_argument("output", help="folder or URI the JPEGs go to (the input tree mirrored)")
    parser.add_argument("--quality", type=int, default=75)
    parser.add_argument("--workers", type=int, default=2, help="actors, each with its own pipeline")
    parser.add_argument("--metric", help="mse, msssim or lpips (default: none, rdjpeg's default encoder)")
    parser.add_argument("--existing", choices=["error", "skip", "overwrite"], default="error",
                        help="outputs that exist: error, skip (resume a job) or overwrite")  # fmt: skip
    parser.add_argument("--num-cpus", type=int, help="CPUs of the local cluster started when none is running")
    args = parser.parse_args(argv)
    if not ray.is_initialized():  # the cluster of RAY_ADDRESS (ray job submit), a running local one, or a new one
        ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    rows = compress_on_ray(args.inputs, args.output, args.quality, args.workers, args.existing,
                           {"metric": args.metric} if args.metric else {})  # fmt: skip
    for row in rows:
        if row["status"] == "failed":
            print(f"failed  {row['source']}: {row['message']}", file=sys.stderr)
    print(summary(rows))
    return 1 if any(row["status"] == "failed" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
