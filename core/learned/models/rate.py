"""Rate estimation: predict the size of the real JPEG file from the simulator's quantized coefficients.

The learned :class:`RateEstimator` is a per-block network. Huffman coding spends bits block by block: DC difference
categories, zero runs, magnitude categories and end-of-block codes are all functions of one block's coefficients and
of its left neighbour's DC. So a small MLP sees one 8×8 block at a time:

* 64 features ``log2(1 + |k|)``, with the DC replaced by the DC difference to the left neighbour;
* the image's mean feature vector per component, which is what the *optimized* Huffman tables depend on.

It predicts the bits of that block, twice: with libjpeg's default Huffman tables and with ``optimize=True``. The
blocks' bits are summed, plus a learned header size (markers, quantization and Huffman tables). Luminance and
chrominance have their own networks, since they use different Huffman tables. Gradients reach the image through the
simulator's surrogate (``rounding="mask"``: only coefficients that survive quantization carry rate gradient).

An analytic baseline for comparison: :func:`rho_proxy` (w·Σ log2(1+|c/q|), the proxy of
Google's sandwiched JPEG compression), with a scale fitted by least squares.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ... import weights
from ..simulator import JPEGSimulation, simulate_jpeg
from ..weights_io import load_weights, read_weights, shipped_model

HEADS = ("default", "optimize")


def block_features(coefficients: Tensor) -> Tensor:
    """(B, by, bx, 8, 8) quantized coefficients → (B, by·bx, 64) features ``log2(1 + |·|)``, DC as a difference."""
    B, by, bx = coefficients.shape[:3]
    k = coefficients.reshape(B, by, bx, 64)
    dc = k[..., 0]
    # libjpeg predicts each DC from the previous block in scan order; the left neighbour (the block above for the
    # first column) is that block for 4:4:4 and a close stand-in in 4:2:0's MCU order.
    left = torch.cat([torch.cat([torch.zeros_like(dc[:, :1, :1]), dc[:, :-1, :1]], 1), dc[..., :-1]], 2)
    k = torch.cat([(dc - left)[..., None], k[..., 1:]], -1)
    return torch.log2(1 + k.abs()).reshape(B, by * bx, 64)


class _BlockNet(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(128, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, len(HEADS))
        )

    def forward(self, features: Tensor) -> Tensor:
        """(B, N, 64) → (B, heads): summed bits over the N blocks."""
        # The first layer on [block, context] splits into a per-block product and one per image: the context (the
        # image's mean features) is the same for every block, so it is not copied to each.
        first = self.net[0]
        context = nn.functional.linear(features.mean(1, keepdim=True), first.weight[:, 64:], first.bias)
        hidden = nn.functional.linear(features, first.weight[:, :64]) + context
        return nn.functional.softplus(self.net[1:](hidden)).sum(1)


class RateEstimator(nn.Module):
    """Bits of the real file (Pillow/libjpeg-turbo) from quantized coefficients, for both Huffman modes.

    Args:
        hidden: width of the per-block MLPs.

    Shape:
        - Input: ``coefficients``, a list of (B, by, bx, 8, 8) tensors (Y[, Cb, Cr]) as from :func:`simulate_jpeg`.
        - Output: (B, 2): bits with default Huffman tables and with ``optimize=True``.

    Example:
        >>> sim = simulate_jpeg(torch.rand(2, 3, 64, 64), quality=50)
        >>> RateEstimator()(sim.coefficients).shape
        torch.Size([2, 2])
    """

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.luma = _BlockNet(hidden)
        self.chroma = _BlockNet(hidden)
        # header bits (markers, tables) for grayscale and colour files, per head, in kilobits
        self.header = nn.Parameter(torch.tensor([[2.6, 2.0], [4.9, 3.0]]))
        self.hidden = hidden

    def forward(self, coefficients: list[Tensor]) -> Tensor:
        bits = self.luma(block_features(coefficients[0]))
        for c in coefficients[1:]:
            bits = bits + self.chroma(block_features(c))
        return bits + 1000 * self.header[int(len(coefficients) > 1)]


RATE_WEIGHTS = "rate.safetensors"  # the shipped rate network, fitted to Pillow's (libjpeg-turbo's) real files


def _load_rate(path: str) -> RateEstimator:
    state, _ = read_weights(path, "rate network weights")
    hidden = state["luma.net.0.weight"].shape[0] if "luma.net.0.weight" in state else 0
    return load_weights(RateEstimator(hidden=hidden), state, path, "rate network weights").eval().requires_grad_(False)


def rate_estimator(pretrained: bool = True, path: str | None = None,
                   device: torch.device | str = "cpu") -> RateEstimator:  # fmt: skip
    """The rate network on ``device``; ``pretrained`` loads the shipped weights (safetensors, no pickle), cached
    per path and device (one copy each: never moved, so one device's use cannot break another's)."""
    if not pretrained:
        return RateEstimator().to(device)
    path = path or weights.path(RATE_WEIGHTS)
    return shipped_model(path, device, lambda: _load_rate(path).to(device))


def estimate_bits(
    x: Tensor | JPEGSimulation,
    quality: int | float | Tensor = 75,
    subsampling: str | int = "4:2:0",
    optimize: bool = False,
    model: RateEstimator | None = None,
) -> Tensor:
    """Predicted size in bits of Pillow's JPEG of each image, differentiable with respect to the image.

    Args:
        x: (B, 3|1, H, W) images in [0, 1], or a :class:`JPEGSimulation` already computed for them.
        quality: 1..100, scalar or per image (ignored when ``x`` is a simulation).
        subsampling: "4:4:4", "4:2:2" or "4:2:0" (ignored when ``x`` is a simulation).
        optimize: predict the size with optimized Huffman tables (Pillow's ``optimize=True``).
        model: a rate network; default: the shipped one.

    Returns:
        (B,) bits.

    Example:
        >>> estimate_bits(torch.rand(2, 3, 64, 64), quality=torch.tensor([30, 90])).shape
        torch.Size([2])
    """
    if not isinstance(optimize, bool):
        raise TypeError(f"optimize must be True or False, got {optimize!r}")
    sim = x if isinstance(x, JPEGSimulation) else simulate_jpeg(x, quality, subsampling, decode=False)
    model = model or rate_estimator(device=sim.tables.device)
    return model(sim.coefficients)[:, int(optimize)]


def rho_proxy(sim: JPEGSimulation) -> Tensor:
    """Σ log2(1 + |c/q|) over all coefficients per image (B,), differentiable (unrounded coefficients)."""
    return sum(torch.log2(1 + u.abs()).flatten(1).sum(1) for u in sim.scaled)
