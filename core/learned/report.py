"""BD-rates (Bjøntegaard delta, Akima interpolation, the ``bjontegaard`` package) of RD curves, the summary of an
evaluation, and its report: results.json, a markdown table, RD plots.

``bjontegaard`` and ``matplotlib`` come with the ``evaluate`` extra (``pip install 'rdjpeg[evaluate]'``): a plain
install that only compresses images does not need them.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence

import numpy as np

from ..registry import get_metric


def bjontegaard_module():
    """The ``bjontegaard`` module, imported when first used (an optional extra)."""
    try:
        import bjontegaard
    except ImportError as error:
        raise ImportError("BD-rates need the bjontegaard package: pip install 'rdjpeg[evaluate]'") from error
    return bjontegaard


def bd_rate(anchor_bpp, anchor_value, test_bpp, test_value) -> float:
    """BD-rate in percent (Akima interpolation); NaN when the curves cannot be compared."""
    bjontegaard = bjontegaard_module()
    a, t = np.argsort(anchor_value), np.argsort(test_value)
    try:
        return float(bjontegaard.bd_rate(np.asarray(anchor_bpp)[a], np.asarray(anchor_value)[a],
                                         np.asarray(test_bpp)[t], np.asarray(test_value)[t],
                                         method="akima", require_matching_points=False, min_overlap=0))  # fmt: skip
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return math.nan


def summarize(records: list, labels: Sequence[str], metric_names: Sequence[str]) -> dict:
    """Average RD curves per codec (by label, as in the records) and BD-rates against the first."""
    images = sorted({r["image"] for r in records})
    qualities = sorted({r["quality"] for r in records})
    by = {(r["image"], r["codec"], r["quality"]): r for r in records}
    curves: dict = {}
    for label in labels:
        curves[label] = {"quality": qualities}
        for key in ["bpp", *metric_names]:
            curves[label][key] = [float(np.mean([by[(i, label, q)][key] for i in images])) for q in qualities]
    bd: dict = {}
    for name in metric_names:
        metric = get_metric(name)
        value = np.vectorize(metric.bd_value)
        bd[name] = {}
        anchor = labels[0]
        for label in labels[1:]:
            avg = bd_rate(curves[anchor]["bpp"], value(curves[anchor][name]),
                          curves[label]["bpp"], value(curves[label][name]))  # fmt: skip
            per_image = []
            for i in images:
                rows_a = [by[(i, anchor, q)] for q in qualities]
                rows_t = [by[(i, label, q)] for q in qualities]
                per_image.append(bd_rate([r["bpp"] for r in rows_a], value([r[name] for r in rows_a]),
                                         [r["bpp"] for r in rows_t], value([r[name] for r in rows_t])))  # fmt: skip
            bd[name][label] = {"average_curve": avg, "mean_per_image": float(np.nanmean(per_image))}
    return {"anchor": labels[0], "curves": curves, "bd_rate": bd}


def markdown_table(summary: dict, metric_names: Sequence[str]) -> str:
    """BD-rate table: one row per codec, one column per metric (average curve / mean of per-image)."""
    head = "| codec | " + " | ".join(f"{m} BD-rate (avg curve / per-image)" for m in metric_names) + " |"
    lines = [
        head,
        "|---" * (len(metric_names) + 1) + "|",
        f"| {summary['anchor']} (anchor) |" + " 0 |" * len(metric_names),
    ]
    for label in list(summary["curves"])[1:]:
        cells = [f"{summary['bd_rate'][m][label]['average_curve']:+.2f} % / "
                 f"{summary['bd_rate'][m][label]['mean_per_image']:+.2f} %" for m in metric_names]  # fmt: skip
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_curves(summary: dict, metric_names: Sequence[str], folder: str) -> list[str]:
    """One RD plot (PNG) per metric; returns the paths."""
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError("RD plots need matplotlib: pip install 'rdjpeg[evaluate]'") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for name in metric_names:
        fig, ax = plt.subplots(figsize=(6, 4.2), dpi=110)
        many = len(summary["curves"]) > 10  # the default cycle has 10 colours: beyond, two curves would share one
        for i, (label, curve) in enumerate(summary["curves"].items()):
            color = plt.cm.tab20(i % 20) if many else None
            ax.plot(curve["bpp"], curve[name], marker="o", markersize=3, label=label, color=color)
        metric = get_metric(name)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(f"{name} ({metric.unit})" if metric.unit else name)
        ax.set_title(
            f"{name}: dataset-average RD curves ({'higher' if metric.higher_is_better else 'lower'} is better)"
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(folder, f"rd_{name}.png")
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def write_report(result: dict, folder: str) -> dict[str, str]:
    """results.json, results.md and rd_<metric>.png in ``folder``; returns their paths."""
    os.makedirs(folder, exist_ok=True)
    paths = {"json": os.path.join(folder, "results.json"), "markdown": os.path.join(folder, "results.md")}
    with open(paths["json"], "w") as f:
        json.dump(result, f, indent=1)
    table = markdown_table(result["summary"], result["metrics"])
    with open(paths["markdown"], "w") as f:
        f.write(f"{len(result['images'])} images, qualities {result['qualities']}\n\n{table}\n")
    for path in plot_curves(result["summary"], result["metrics"], folder):
        paths[os.path.basename(path)] = path
    return paths
