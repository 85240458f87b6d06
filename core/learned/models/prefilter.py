"""The preprocessing network P: a small, quality-conditioned residual CNN that edits an image before JPEG.

Design (any size, one model for all qualities, quantizer-aware; docs/prefilter.md):

* pixel-unshuffle by 8: the body works at 1/64 of the pixels on 192 channels; an 8×8 cell is exactly a JPEG luma
  block, so the body sees whole blocks. 48 channels × 4 blocks, 376 k parameters (speed in BENCHMARKS.md);
* besides the pixels, the head sees :func:`quantizer_features`: each cell's Y and MCU Cb/Cr DCT coefficients in
  quantization steps of the requested quality, with their rounding residuals;
* a 3×3 head, ``blocks`` residual blocks with FiLM conditioning on the quality, and a 3×3 tail whose output is a
  change of each coefficient in quantization steps (:func:`quantizer_edit` turns it into pixels); residual;
* optionally (``luma_mlp``, ``chroma_mlp`` > 0) per-coefficient pathways: a small MLP of its own for each of the
  64 Y coefficients of a cell (and each of the 128 Cb/Cr coefficients of an MCU) sees that coefficient's quantizer
  features and a few context channels of the body, and adds a change of that coefficient. The 3×3 tail mixes 48
  body channels into 192 coefficient edits per cell, so it cannot make decisions that depend on one coefficient's
  own rounding residual (keep, snap or drop it); the pathways can;
* the tail (and the pathways' output layers) start at zero, so an untrained prefilter is the identity;
* inputs of any size are edge-padded to a multiple of 16 (one 4:2:0 MCU) and cropped back; grayscale images go
  through as three equal channels and come back averaged;
* :meth:`Prefilter.forward_tiled` processes large images in tiles whose margin exceeds the receptive field, so the
  result equals the untiled one (no seams) at bounded memory.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ... import weights
from ...jpeg.tables import RGB_TO_YCBCR
from ...registry import UnknownNameError, loss_name
from ...validate import check_int
from ..checks import check_image, quality_tensor
from ..simulator import _dct_matrix, quality_tables
from ..weights_io import load_weights, read_weights, save_safetensors, shipped_model

BLOCK_GRID = 16  # a 4:2:0 MCU: the chroma features see the encoder's real chroma blocks
COEFFICIENT_CONTEXT = 4  # body channels each coefficient's MLP sees besides its own features


def _linear_maps(dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    with torch.inference_mode(False):  # cached: must not be inference tensors, or later autograd use fails
        return _build_linear_maps(dtype, device)


@functools.cache
def _build_linear_maps(dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The fixed linear parts, as convolutions on pixel-unshuffled images (one matrix product per cell or MCU).

    Returns (luma (64, 192, 1, 1), luma bias (64,), chroma (128, 192, 2, 2), edit (192, 192), chroma edit (768, 128)):
    * luma: Y DCT coefficients of an 8×8 cell from its unshuffled RGB (orthonormal DCT = JPEG's, level shift 128);
    * chroma: Cb and Cr DCT coefficients of a 16×16 MCU from its four cells (stride 2): the DCT of the 2×2-averaged
      RGB, which is what the encoder downsamples; much cheaper than pooling the full image again;
    * edit: RGB change of an 8×8 cell from changes of its Y, Cb, Cr DCT coefficients (inverse DCT and colour);
    * chroma edit: RGB change of a 16×16 MCU (pixel-shuffle order) from changes of its Cb and Cr DCT coefficients,
      each chroma sample's change repeated over the 2×2 pixels it covers, so that the encoder's 2×2 average gives
      back exactly the intended coefficient change.
    """
    f64 = torch.float64
    dct = torch.einsum("ui,vj->uvij", _dct_matrix(f64, "cpu"), _dct_matrix(f64, "cpu")).reshape(64, 64)
    ycc = torch.tensor(RGB_TO_YCBCR, dtype=f64) * 255
    luma = torch.einsum("pk,c->pck", dct, ycc[0]).reshape(64, 192, 1, 1)
    bias = torch.zeros(64, dtype=f64)
    bias[0] = -128 * 64 / 8  # DC of the level shift: the orthonormal DC basis is 1/8
    averaged = torch.einsum("pk,dc->dpck", dct, ycc[1:]).reshape(128, 3, 8, 8)  # on 2×2-averaged pixels
    # Pixel (i, j) of cell (a, b) in an MCU is averaged into pixel (4a + i//2, 4b + j//2) of the chroma block.
    half = torch.arange(8) // 2
    chroma = torch.stack([torch.stack([averaged[:, :, 4 * a + half][:, :, :, 4 * b + half] / 4 for b in (0, 1)], -1)
                          for a in (0, 1)], -2).reshape(128, 192, 2, 2)  # fmt: skip
    edit = torch.einsum("ck,pq->cqkp", torch.linalg.inv(ycc), dct).reshape(192, 192)
    repeated = dct.view(64, 8, 8).repeat_interleave(2, 1).repeat_interleave(2, 2).reshape(64, 256)
    chroma_edit = torch.einsum("ck,pq->cqkp", torch.linalg.inv(ycc)[:, 1:], repeated).reshape(768, 128)
    maps = (luma, bias, chroma, edit, chroma_edit)
    return tuple(m.to(dtype=dtype, device=device).contiguous() for m in maps)


def _tables(quality: Tensor, like: Tensor) -> Tensor:
    """(B, 2, 64) luma/chroma quantization steps of the IJG tables at ``quality``."""
    q = quality.round().clamp(1, 100).long()
    return quality_tables(q, like.device).to(like.dtype).reshape(-1, 2, 64)


def _magnitude_and_residual(u: Tensor) -> Tensor:
    magnitude = torch.copysign((u.abs() + 1).log(), u)  # sign(u)·log(1 + |u|); log is ~5× faster than log1p here
    return torch.cat([magnitude, u - u.round()], 1)


def quantizer_features(cells: Tensor, quality: Tensor) -> tuple[Tensor, Tensor]:
    """What the quantizer will see, for an RGB image with H, W multiples of 16, given as ``cells``, its
    pixel-unshuffle by 8: luma features (B, 128, H/8, W/8) per 8×8 cell and chroma features (B, 256, H/16, W/16)
    per 16×16 MCU.

    For every DCT coefficient c of the encoder's Y blocks (8×8) and Cb/Cr blocks (8×8 after 2×2 averaging, i.e.
    16×16 pixels): u = c / Q(quality), given as sign(u)·log(1 + |u|) and as the rounding residual u − round(u).
    The residual says how far each coefficient is from the quantizer's decision boundary, which decides whether a
    small edit changes the file at all; a pixel-domain network would have to rediscover the DCT and the quality's
    tables to know it. Chroma stays at MCU resolution (a quarter of the element-wise work).
    """
    luma_map, bias, chroma_map = _linear_maps(cells.dtype, cells.device)[:3]
    tables = _tables(quality, cells)
    luma = F.conv2d(cells, luma_map, bias) / tables[:, 0, :, None, None]
    chroma = F.conv2d(cells, chroma_map, stride=2) / tables[:, 1].repeat(1, 2)[:, :, None, None]
    return _magnitude_and_residual(luma), _magnitude_and_residual(chroma)


def _edit_steps(quality: Tensor, like: Tensor) -> Tensor:
    """(B, 192) quantization step of each Y, Cb, Cr coefficient of a cell, in :func:`quantizer_edit`'s order."""
    tables = _tables(quality, like)
    return torch.cat([tables[:, :1], tables[:, 1:], tables[:, 1:]], 1).reshape(-1, 192)


def quantizer_edit(t: Tensor, quality: Tensor) -> Tensor:
    """(B, 192, H/8, W/8) edits in quantizer steps of each cell's Y, Cb, Cr DCT coefficients → RGB edit (B, 3, H, W).

    Scaling by the quantization step makes "move this coefficient by a fraction of its step" one number for the
    network at every quality: at q95 the same output moves the image far less than at q10.
    """
    steps = _edit_steps(quality, t)[:, :, None, None]
    edit = _linear_maps(t.dtype, t.device)[3]
    return F.pixel_shuffle(F.conv2d(t * steps, edit[:, :, None, None]), 8)


class _CoefficientMLPs(nn.Module):
    """One small MLP per DCT coefficient (two grouped 1×1 convolutions): from the coefficient's magnitude and
    rounding residual (:func:`quantizer_features`) and ``COEFFICIENT_CONTEXT`` channels of the body, a change of
    that coefficient in quantization steps. The output layer starts at zero."""

    def __init__(self, coefficients: int, channels: int, hidden: int) -> None:
        super().__init__()
        self.n = coefficients
        self.context = nn.Conv2d(channels, coefficients * COEFFICIENT_CONTEXT, 1)
        self.hidden = nn.Conv2d(coefficients * (2 + COEFFICIENT_CONTEXT), coefficients * hidden, 1, groups=coefficients)
        self.out = nn.Conv2d(coefficients * hidden, coefficients, 1, groups=coefficients)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, h: Tensor, features: Tensor) -> Tensor:
        B, _, rows, cols = h.shape
        context = self.context(h).reshape(B, self.n, COEFFICIENT_CONTEXT, rows, cols)
        own = features.reshape(B, 2, self.n, rows, cols).transpose(1, 2)  # magnitudes, then residuals
        return self.out(F.silu(self.hidden(torch.cat([own, context], 2).reshape(B, -1, rows, cols))))


class _Block(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
        h = F.silu(self.conv1(x))
        return x + self.conv2(torch.addcmul(shift, h, 1 + scale))  # FiLM: h·(1 + scale) + shift in one pass


class Prefilter(nn.Module):
    """Quality-conditioned residual prefilter.

    Args:
        channels: width of the body (at 1/scale resolution).
        blocks: number of residual blocks.
        scale: pixel-unshuffle factor.
        luma_mlp: hidden units of the per-coefficient pathway's MLPs, one per Y coefficient of a cell; 0: none.
        chroma_mlp: the same for each Cb and Cr coefficient of an MCU; 0: none.

    Shape:
        - Input: (B, 3, H, W) or (B, 1, H, W) in [0, 1], any H, W ≥ 1; quality a scalar or (B,).
        - Output: same shape, in [0, 1].

    Example:
        >>> p = Prefilter()
        >>> x = torch.rand(2, 3, 37, 50)
        >>> torch.equal(p(x, quality=torch.tensor([30, 80])), x)  # identity until trained
        True
    """

    def __init__(self, channels: int = 48, blocks: int = 4, scale: int = 8, luma_mlp: int = 0,
                 chroma_mlp: int = 0) -> None:  # fmt: skip
        super().__init__()
        if scale != 8:
            raise ValueError(f"scale must be 8 (one cell per JPEG block), got {scale}")
        for name, value in (("luma_mlp", luma_mlp), ("chroma_mlp", chroma_mlp)):
            if value < 0:
                raise ValueError(f"{name} must be ≥ 0, got {value}")
        width = 3 * scale * scale
        self.head = nn.Conv2d(width, channels, 3, padding=1)
        self.head_dct = nn.Conv2d(2 * 192, channels, 1)
        self.blocks = nn.ModuleList(_Block(channels) for _ in range(blocks))
        self.tail = nn.Conv2d(channels, width, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)
        self.film = nn.Sequential(nn.Linear(2, 64), nn.SiLU(), nn.Linear(64, 2 * channels * blocks))
        nn.init.zeros_(self.film[-1].weight)
        nn.init.zeros_(self.film[-1].bias)
        self.channels, self.n_blocks, self.scale = channels, blocks, scale
        self.luma_mlp, self.chroma_mlp = luma_mlp, chroma_mlp
        self.luma_mlps = _CoefficientMLPs(64, channels, luma_mlp) if luma_mlp else None
        self.chroma_mlps = _CoefficientMLPs(128, channels, chroma_mlp) if chroma_mlp else None

    @property
    def receptive_radius(self) -> int:
        """Pixels of context each output pixel depends on, in each direction (full resolution)."""
        return self.scale * (3 + 2 * self.n_blocks) + BLOCK_GRID

    def _quality_features(self, quality: Tensor) -> Tensor:
        q = quality.to(self.tail.weight.dtype)[:, None] / 100
        return torch.cat([q, torch.log(q)], 1)  # IJG scaling changes regime at q50: give the MLP both views

    def _coefficient_head(self, luma: Tensor, chroma: Tensor) -> Tensor:
        """``head_dct`` on :func:`quantizer_features`, its 1×1 weights split by resolution: the chroma features are
        mixed at MCU resolution and only the result is upsampled (nearest, so equal to upsampling the features)."""
        w = self.head_dct.weight  # input channels: magnitude Y 64, Cb Cr 128; residual Y 64, Cb Cr 128
        h_luma = F.conv2d(luma, torch.cat([w[:, :64], w[:, 192:256]], 1), self.head_dct.bias)
        h_chroma = F.conv2d(chroma, torch.cat([w[:, 64:192], w[:, 256:]], 1))
        return h_luma + F.interpolate(h_chroma, scale_factor=2, mode="nearest")

    def _coefficient_tail(self, h: Tensor, quality: Tensor) -> Tensor:
        """``tail`` then :func:`quantizer_edit`. With one quality in the batch (inference), the steps and the
        inverse DCT are folded into the tail's weights: one convolution instead of two and a product."""
        steps = _edit_steps(quality, h)
        if h.shape[0] > 1 and not bool((steps == steps[:1]).all()):
            return quantizer_edit(self.tail(h), quality)
        fold = _linear_maps(h.dtype, h.device)[3] * steps[0]
        weight = (fold @ self.tail.weight.flatten(1)).view(self.tail.weight.shape)
        return F.pixel_shuffle(F.conv2d(h, weight, fold @ self.tail.bias, padding=1), 8)

    def _per_coefficient(self, h: Tensor, luma: Tensor, chroma: Tensor, quality: Tensor) -> Tensor:
        """The per-coefficient pathways' RGB edit: each Y coefficient of each cell and each Cb/Cr coefficient of each
        MCU changed by its own MLP, in quantization steps."""
        tables = _tables(quality, h)
        edit = 0
        if self.luma_mlps is not None:
            change = self.luma_mlps(h, luma) * tables[:, 0, :, None, None]
            edit = F.pixel_shuffle(F.conv2d(change, _linear_maps(h.dtype, h.device)[3][:, :64, None, None]), 8)
        if self.chroma_mlps is not None:
            change = self.chroma_mlps(F.avg_pool2d(h, 2), chroma) * tables[:, 1].repeat(1, 2)[:, :, None, None]
            edit = edit + F.pixel_shuffle(F.conv2d(change, _linear_maps(h.dtype, h.device)[4][:, :, None, None]), 16)
        return edit

    def forward(self, x: Tensor, quality: int | float | Tensor = 75) -> Tensor:
        check_image(x, values=False)  # a module in training loops: its input's range is the caller's
        q = quality_tensor(quality, x.shape[0], x.device)
        gray = x.shape[1] == 1
        rgb = x.expand(-1, 3, -1, -1) if gray else x
        H, W = rgb.shape[-2:]
        ph, pw = -H % BLOCK_GRID, -W % BLOCK_GRID
        padded = F.pad(rgb, (0, pw, 0, ph), mode="replicate") if ph or pw else rgb
        film = self.film(self._quality_features(q)).view(x.shape[0], self.n_blocks, 2, self.channels, 1, 1)
        # channels-last cells whatever the input's layout: the convolutions would otherwise reorder them each time
        cells = F.pixel_unshuffle(padded, self.scale).contiguous(memory_format=torch.channels_last)
        luma, chroma = quantizer_features(cells, q)
        h = self.head(cells) + self._coefficient_head(luma, chroma)
        for i, block in enumerate(self.blocks):
            h = block(h, film[:, i, 0], film[:, i, 1])
        out = padded + self._coefficient_tail(h, q)
        if self.luma_mlp or self.chroma_mlp:
            out = out + self._per_coefficient(h, luma, chroma, q)
        out = out[..., :H, :W].clamp(0, 1)
        return out.mean(1, keepdim=True) if gray else out

    @torch.no_grad()
    def scale_edits(self, factor: float) -> None:
        """Multiply every edit by ``factor``, in place: the tail is linear, so P(x) becomes x + factor·(P(x) − x)
        before the final clamp. Training calibrates it with the real encoder (``PrefilterConfig.strengths``)."""
        if not math.isfinite(factor) or factor <= 0:
            raise ValueError(f"factor must be a positive number, got {factor}")
        pathways = [m.out for m in (self.luma_mlps, self.chroma_mlps) if m is not None]
        for layer in (self.tail, *pathways):
            layer.weight.mul_(factor)
            layer.bias.mul_(factor)

    def forward_tiled(self, x: Tensor, quality: int | float | Tensor = 75, tile: int = 512,
                      out: Tensor | None = None) -> Tensor:  # fmt: skip
        """Same result as :meth:`forward`, computed in ``tile``×``tile`` pieces with a receptive-field margin.

        Memory grows with the tile, not the image: a 24-megapixel image needs only one tile's activations at a time.
        ``out``: where the result goes (``x`` itself is allowed: a band of rows is written once all its tiles are
        computed, and the rows above it that the next band reads are kept as they were); default a new tensor.
        """
        check_image(x, values=False)
        if check_int("tile", tile, BLOCK_GRID) % BLOCK_GRID:
            raise ValueError(f"tile must be a positive multiple of {BLOCK_GRID}, got {tile}")
        H, W = x.shape[-2:]
        if tile >= H and tile >= W and out is None:
            return self.forward(x, quality)
        margin = BLOCK_GRID * math.ceil(self.receptive_radius / BLOCK_GRID)
        out = torch.empty_like(x) if out is None else out
        above = x[..., :0, :]  # the input rows just above the current band, as they were
        for top in range(0, H, tile):
            bottom = min(H, top + tile)
            band = torch.empty_like(x[..., top:bottom, :])
            for left in range(0, W, tile):
                # Tile origins on the 16-pixel grid keep the blocks' phase identical to the whole image's.
                l0, l1 = max(0, left - margin), min(W, left + tile + margin)
                below = x[..., top : min(H, bottom + margin), l0:l1]
                piece = self.forward(torch.cat([above[..., l0:l1], below], -2), quality)
                band[..., left : left + tile] = piece[..., above.shape[-2] : above.shape[-2] + bottom - top,
                                                      left - l0 : left - l0 + tile]  # fmt: skip
            rows = torch.cat([above, x[..., top:bottom, :]], -2)  # before x changes
            above = rows[..., rows.shape[-2] - min(margin, rows.shape[-2]) :, :].clone()
            out[..., top:bottom, :] = band
        return out


def save_prefilter(model: Prefilter, path: str, **metadata: str) -> None:
    """Write the weights as safetensors, with the architecture in the metadata so :func:`load_prefilter` needs no
    other file. Written atomically, so a reader never sees half a file."""
    meta = {
        "channels": str(model.channels),
        "blocks": str(model.n_blocks),
        "scale": str(model.scale),
        "luma_mlp": str(model.luma_mlp),
        "chroma_mlp": str(model.chroma_mlp),
        **metadata,
    }
    save_safetensors(model.state_dict(), path, meta)


def load_prefilter(path: str) -> Prefilter:
    """A :class:`Prefilter` from a safetensors file written by :func:`save_prefilter` (no pickle), in eval mode."""
    state, meta = read_weights(path, "prefilter weights")
    try:
        # files written before the per-coefficient pathways existed have none
        model = Prefilter(
            int(meta["channels"]),
            int(meta["blocks"]),
            int(meta["scale"]),
            int(meta.get("luma_mlp", 0)),
            int(meta.get("chroma_mlp", 0)),
        )
    except (KeyError, ValueError) as error:
        raise ValueError(f"{path} has no valid architecture metadata ({error}); write it with save_prefilter") from None
    load_weights(model, state, path, "prefilter weights")
    return model.eval().requires_grad_(False).to(memory_format=torch.channels_last)


def pretrained_metrics() -> list[str]:
    """Metrics with a shipped prefilter."""
    return [name[len("prefilter-") : -len(".safetensors")] for name in weights.names()
            if name.startswith("prefilter-") and name.endswith(".safetensors")]  # fmt: skip


def prefilter(metric: str = "mse", pretrained: bool = True, device: torch.device | str = "cpu") -> Prefilter:
    """The prefilter trained for ``metric`` ("mse", "msssim", "lpips"), or an untrained (identity) one.

    Args:
        metric: the distortion the model was trained for ("psnr" is accepted for "mse").
        pretrained: load the shipped weights (``rdjpeg/weights/prefilter-<metric>.safetensors``; no download).
        device: where the model lives.

    Returns:
        A :class:`Prefilter` in eval mode with gradients off. Pretrained models are cached per device and shared:
        copy one (``copy.deepcopy``) before fine-tuning or moving it.

    Example:
        >>> p = prefilter("mse")
        >>> y = p(torch.rand(1, 3, 64, 64), quality=50)
    """
    metric = loss_name(metric)
    if not pretrained:
        return Prefilter().to(device)
    available = pretrained_metrics()
    if metric not in available:
        raise UnknownNameError(f"unknown prefilter model {metric!r}; available: {', '.join(available)}")
    path = weights.path(f"prefilter-{metric}.safetensors")
    return shipped_model(path, device, lambda: load_prefilter(path).to(device))
