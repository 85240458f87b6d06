"""Built-in distortion metrics (registered like any extension's): PSNR/MSE, MS-SSIM, LPIPS-Alex and SSIMULACRA2, which
train and judge; butteraugli (3-norm and max-norm) and PSNR-HVS-M, which only judge.

Every metric has an evaluation ``score`` (what is reported) and ``bd_value``, the monotone "quality" that BD-rate
interpolates on; those that can train also have a differentiable ``loss`` (lower is better, the D in the RD loss).
A judge-only metric (``judge_only = True``) has no loss: nothing optimizes for it, so it stays an independent judge.
All take (B, C, H, W) images in [0, 1] (C = 1 or 3) and return one value per image.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_msssim import ms_ssim
from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim
from torch import Tensor

from ... import weights
from ...images import as_rgb, tensor_to_pixels
from ...scores import PSNR_OF_IDENTICAL
from ..checks import check_images
from ..weights_io import read_weights, shipped_model

# Imported as modules: a function of the same name would hide the submodule (``rdjpeg.learned.metrics.ssimulacra2``).
from . import butteraugli, ssimulacra2

LPIPS_WEIGHTS_ENV = "RDJPEG_LPIPS_WEIGHTS"


def _pad_to(x: Tensor, side: int) -> Tensor:
    """Replicate-pad the bottom/right of images smaller than ``side`` (for metrics with a minimum size)."""
    pad = (0, max(0, side - x.shape[-1]), 0, max(0, side - x.shape[-2]))
    return F.pad(x, pad, mode="replicate") if any(pad) else x


class Metric:
    """Base class; subclasses set ``name``, ``higher_is_better``, ``unit`` and implement ``loss``/``score``.

    ``gradient_at`` says where RD optimization takes this metric's gradient through the simulator (see
    :meth:`rdjpeg.JPEGSimulation.distortion`): "proxy" (the quantization error held constant) for fidelity metrics,
    where following the real decode's gradient only pre-compensates rounding; "decoded" for deep perceptual
    metrics, whose gradient at the unedited image is zero and which must see the artifacts to counter them
    (BENCHMARKS.md, "Where the distortion gradient is taken").

    """

    name: str
    higher_is_better: bool
    unit: str = ""
    gradient_at: str = "proxy"
    judge_only: bool = False

    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        if self.judge_only:
            raise ValueError(f"{self.name} is a judge only: it has no loss, and nothing may be optimized for it")
        raise NotImplementedError

    def score(self, x: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError

    def bd_value(self, score: float) -> float:
        """The value BD-rate interpolates on: increasing with quality."""
        return score if self.higher_is_better else -score

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class PSNR(Metric):
    """PSNR in dB (8-bit peak); its loss is the MSE of images in [0, 1]."""

    name, higher_is_better, unit = "psnr", True, "dB"

    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        check_images(x, y, 1, self.name, values=False)  # losses run in loops on tensors rdjpeg made
        return (x - y).square().mean((1, 2, 3))

    def score(self, x: Tensor, y: Tensor) -> Tensor:
        check_images(x, y, 1, self.name)
        return (-10 * torch.log10(self.loss(x, y))).clamp(max=PSNR_OF_IDENTICAL)  # rdjpeg.scores.psnr's rule


class MSSSIM(Metric):
    """MS-SSIM (pytorch-msssim), in [0, 1]. BD-rates interpolate the raw MS-SSIM (not dB), as the reference harness.

    Images whose short side is under 161 px get fewer scales (the standard weights, truncated and renormalized), and
    images under 11 px (one window) are edge-padded to 11, so that every image size has a value.
    """

    name, higher_is_better, unit = "msssim", True, ""
    WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

    def _ms_ssim(self, x: Tensor, y: Tensor) -> Tensor:
        check_images(x, y, 1, self.name, values=False)  # losses run in loops on tensors rdjpeg made
        x, y = _pad_to(as_rgb(x), 11), _pad_to(as_rgb(y), 11)
        side, levels = min(x.shape[-2:]), 5
        while levels > 1 and side <= 10 * 2 ** (levels - 1):
            levels -= 1
        if levels == 5:
            return ms_ssim(x, y, data_range=1.0, size_average=False)
        return _ms_ssim_fewer_scales(x, y, self.WEIGHTS[:levels])

    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        return 1 - self._ms_ssim(x, y)

    def score(self, x: Tensor, y: Tensor) -> Tensor:
        check_images(x, y, 1, self.name)
        return self._ms_ssim(x, y)


def _ms_ssim_fewer_scales(x: Tensor, y: Tensor, weights: tuple[float, ...]) -> Tensor:
    """pytorch-msssim's MS-SSIM with fewer scales (its public function insists on 5): the library's SSIM terms,
    combined over ``len(weights)`` scales with the weights renormalized."""
    w = x.new_tensor(weights)
    w = w / w.sum()
    win = _fspecial_gauss_1d(11, 1.5).repeat([x.shape[1], 1, 1, 1]).to(x)
    terms = []
    for level in range(len(weights)):
        ssim_per_channel, cs = _ssim(x, y, data_range=1.0, win=win, size_average=False)
        if level < len(weights) - 1:
            terms.append(torch.relu(cs))
            padding = [side % 2 for side in x.shape[2:]]
            x, y = F.avg_pool2d(x, 2, padding=padding), F.avg_pool2d(y, 2, padding=padding)
    terms.append(torch.relu(ssim_per_channel))
    return torch.prod(torch.stack(terms) ** w.view(-1, 1, 1), dim=0).mean(1)


def lpips_weights_path() -> str:
    """``$RDJPEG_LPIPS_WEIGHTS`` if set, else the float16 copy shipped in the package."""
    env = os.environ.get(LPIPS_WEIGHTS_ENV)
    if env:
        return env
    return weights.path("lpips_alex.safetensors")


def load_lpips_state(path: str) -> dict[str, Tensor]:
    """Backbone + linear layers as ``{'features.N.weight': …, 'lins.NetLinLayer_i': …}`` in float32, no pickle.

    Reads the shipped ``.safetensors`` or the converted ``lpips_alex_backbone.pt`` (``weights_only=True``).
    """
    what = f"LPIPS weights ({LPIPS_WEIGHTS_ENV})" if os.environ.get(LPIPS_WEIGHTS_ENV) else "LPIPS weights"
    if path.endswith(".safetensors"):
        return {k: v.float() for k, v in read_weights(path, what)[0].items()}
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what}: no file at {path!r}")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
        state = {f"features.{k.split('.', 1)[1]}": v for k, v in raw["features"].items()}
        state |= {f"lins.{k}": v for k, v in raw["lins"].items()}
    except Exception as error:
        raise ValueError(f"{what}: {path!r} is not a readable LPIPS weights file ({type(error).__name__})") from None
    if not all(torch.isfinite(v).all() for v in state.values()):
        raise ValueError(f"{what}: {path!r} holds NaN or infinite values")
    return {k: v.float() for k, v in state.items()}


def _build_lpips(path: str, device: str):
    try:
        import lpips
    except ImportError as error:
        raise ImportError("LPIPS needs the `lpips` package: pip install 'rdjpeg[lpips]'") from error
    state = load_lpips_state(path)
    # pnet_rand: do not let torchvision download ImageNet weights; ours come from the file instead.
    with warnings.catch_warnings():  # torchvision's deprecation notice for lpips' `pretrained=` argument
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net="alex", pretrained=False, pnet_rand=True, verbose=False)
    slices = {0: "slice1", 3: "slice2", 6: "slice3", 8: "slice4", 10: "slice5"}  # AlexNet conv index → lpips slice
    mapped = {}
    for key, value in state.items():
        group, rest = key.split(".", 1)
        if group == "features":
            index, param = rest.split(".")
            mapped[f"net.{slices[int(index)]}.{index}.{param}"] = value
        else:
            mapped[f"lin{rest.rsplit('_', 1)[1]}.model.1.weight"] = value
    missing = {name for name, _ in model.named_parameters()} - set(mapped)
    if missing:
        raise ValueError(f"LPIPS weights at {path!r} lack {sorted(missing)}")
    try:
        model.load_state_dict(mapped, strict=False)
    except RuntimeError:
        raise ValueError(f"LPIPS weights at {path!r} do not fit AlexNet's shapes") from None
    return model.eval().requires_grad_(False).to(device)


class LPIPS(Metric):
    """LPIPS v0.1 with the AlexNet backbone (lower is better)."""

    name, higher_is_better, unit = "lpips", False, ""
    gradient_at = "decoded"

    def __init__(self, weights: str | None = None) -> None:
        self.weights = weights

    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        check_images(x, y, 1, self.name, values=False)  # losses run in loops on tensors rdjpeg made
        path = self.weights or lpips_weights_path()
        model = shipped_model(path, x.device, lambda: _build_lpips(path, x.device))
        # AlexNet's stride-4 conv and two max-pools need at least 31 px: smaller images are edge-padded.
        x, y = _pad_to(as_rgb(x), 32), _pad_to(as_rgb(y), 32)
        return model(x.float(), y.float(), normalize=True).flatten().to(x.dtype)

    def score(self, x: Tensor, y: Tensor) -> Tensor:
        check_images(x, y, 1, self.name)
        return self.loss(x, y)


class SSIMULACRA2(Metric):
    """SSIMULACRA2 (:mod:`rdjpeg.learned.metrics.ssimulacra2`): 100 = identical, 90 visually lossless, 50 medium, 30 low
    quality. Its loss is ``1 - score / 100``, differentiable; like LPIPS it must see the artifacts to counter them."""

    name, higher_is_better, unit = "ssimulacra2", True, ""
    gradient_at = "decoded"

    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        return ssimulacra2.ssimulacra2_loss(x, y)

    def score(self, x: Tensor, y: Tensor) -> Tensor:
        return ssimulacra2.ssimulacra2(x, y)


class Butteraugli(Metric):
    """butteraugli distance, 3-norm (:mod:`rdjpeg.learned.metrics.butteraugli`, libjxl's reference binary); lower is
    better."""

    name, higher_is_better, unit = "butteraugli", False, ""
    judge_only = True
    column = 1  # of butteraugli()'s (max-norm, 3-norm)

    def score(self, x: Tensor, y: Tensor) -> Tensor:
        return butteraugli.butteraugli(x, y)[:, self.column]


class ButteraugliMax(Butteraugli):
    """butteraugli distance, max-norm (the worst spot); lower is better."""

    name, column = "butteraugli-max", 0


class PSNRHVSM(Metric):
    """PSNR-HVS-M in dB (mozjpeg's own tuning metric), on BT.601 luma rounded to 8 bits, over whole 8×8 blocks, from
    the ``psnr-hvsm`` package (``pip install 'rdjpeg[judges]'``); 100 for identical images. A judge only here."""

    name, higher_is_better, unit = "psnr-hvs-m", True, "dB"
    judge_only = True

    def score(self, x: Tensor, y: Tensor) -> Tensor:
        check_images(x, y, 8, self.name)
        hvsm, bt601ycbcr = _psnr_hvsm()
        h, w = (side - side % 8 for side in x.shape[-2:])
        scores = []
        for a, b in zip(x, y, strict=True):
            pixels = (tensor_to_pixels(as_rgb(image[None, :, :h, :w])).astype(np.float64) for image in (a, b))
            scores.append(float(hvsm(*(bt601ycbcr(p)[0] for p in pixels))[1]))
        return torch.tensor(scores, dtype=torch.float64)


@functools.cache
def _psnr_hvsm():
    """(psnr_hvs_hvsm, bt601ycbcr) of the psnr-hvsm package, which prints to stdout on import without torch_dct."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import psnr_hvsm
    except ImportError as error:
        raise ImportError("psnr-hvs-m needs the psnr-hvsm package: pip install 'rdjpeg[judges]'") from error
    functions = psnr_hvsm.BACKENDS.get("cpp", psnr_hvsm.BACKENDS["numpy"])
    return functions["psnr_hvs_hvsm"], functions["bt601ycbcr"]
