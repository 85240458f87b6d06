"""torchvision v2 transforms: :class:`RDJPEG` (real codec, like ``v2.JPEG``) and :class:`DiffRDJPEG` (simulated,
differentiable).

``RDJPEG(quality=(lo, hi) | q)`` compresses each image with rdjpeg (its default encoder, or a metric's pipeline with
``metric=``) and decodes it again, exactly where ``v2.JPEG`` would. It takes PIL images (RGB or L), uint8 tensors
``[..., 1 or 3, H, W]`` (batches too) and ``tv_tensors.Image`` / ``Video``, and returns the same type; bounding boxes,
masks and other annotations pass through untouched. One quality is drawn per call, as ``v2.JPEG`` does. It holds no
network itself (the shipped model is loaded once per process), so it pickles into DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from rdjpeg.extras import require
from rdjpeg.plan import default_masking, make_plan, resolve_prefilter
from rdjpeg.validate import quality_range

try:
    import torch
    from torch import Tensor, nn
    from torchvision import tv_tensors
    from torchvision.transforms import v2
except ImportError:
    require("torchvision", "rdjpeg_plugins.torchvision")  # the error that names the extra, when it is the cause
    raise

IMAGE_TYPES = (tv_tensors.Image, tv_tensors.Video)


class RDJPEG(v2.Transform):
    """Compress with rdjpeg and decode again (the real encoder and Pillow's decoder).

    Args:
        quality: JPEG quality 1..100, or (min, max) to draw one uniformly (inclusive) per call.
        metric: the shipped pipeline to use: "mse", "msssim", "lpips"; None (default): rdjpeg's default encoder,
            unedited (see :func:`rdjpeg.make_plan`).
        backend: a registered JPEG encoder (:func:`rdjpeg.registry.backends`); None: as :func:`rdjpeg.make_plan`.
        **jpeg_options: passed to the encoder (e.g. ``subsampling="4:4:4"``).

    Options are checked when the transform is made, not in a worker. The file is written only as far as its pixels
    need (no entropy optimization or metadata: :meth:`rdjpeg.Plan.roundtrip`), since it is decoded at once.

    Example:
        >>> t = RDJPEG(quality=(30, 90))
        >>> t(torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)).shape
        torch.Size([3, 32, 32])
    """

    def __init__(self, quality: int | Sequence[int] = 75, metric: str | None = None, backend: str | None = None,
                 **jpeg_options: Any) -> None:  # fmt: skip
        super().__init__()
        self.quality = quality_range(quality)
        self.plan = make_plan(self.quality[0], metric=metric, backend=backend, **jpeg_options)

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        return {"quality": int(torch.randint(self.quality[0], self.quality[1] + 1, ()).item())}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        q = params["quality"]
        if isinstance(inpt, Image.Image):
            if inpt.mode not in ("RGB", "L"):
                raise ValueError(f"RDJPEG takes RGB or L PIL images, got mode {inpt.mode!r}")
            return Image.fromarray(self.plan.roundtrip(np.asarray(inpt), q))
        if not isinstance(inpt, IMAGE_TYPES) and type(inpt) is not Tensor:
            return inpt  # like v2.JPEG: boxes, masks, keypoints and whatever has no image kernel pass through
        if inpt.dtype != torch.uint8 or inpt.dim() < 3 or inpt.shape[-3] not in (1, 3):
            raise ValueError(f"RDJPEG takes uint8 tensors [..., 1 or 3, H, W], got {inpt.dtype} {tuple(inpt.shape)}")
        flat = inpt.reshape(-1, *inpt.shape[-3:]).cpu()
        out = []
        for image in flat:
            # torch's copy to (H, W, C) and numpy's back are the fast ones (strided copies differ by 2-3× per way)
            a = image.permute(1, 2, 0).contiguous().numpy()
            a = self.plan.roundtrip(a[..., 0] if a.shape[2] == 1 else a, q)
            out.append(torch.from_numpy(a.reshape(*a.shape[:2], -1).transpose(2, 0, 1).copy()))
        result = (out[0] if len(out) == 1 else torch.stack(out)).reshape(inpt.shape).to(inpt.device)
        return tv_tensors.wrap(result, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else result


class DiffRDJPEG(nn.Module):
    """Differentiable RDJPEG for training: prefilter, masking, then the simulated codec; gradients reach the input.

    The forward pass equals Pillow's decode of what ``RDJPEG(quality, metric=metric, subsampling=subsampling)``
    writes (the paper's pipeline on Pillow's encoder; bit-exact simulator). Its default, ``metric="mse"``, is that
    pipeline; ``RDJPEG``'s default is rdjpeg's default encoder, which no simulator models. The backward pass uses the
    simulator's surrogate and passes straight through the masking's discrete decisions. The prefilter's weights stay
    frozen. Needs the ``learned`` extra.

    Args:
        quality: as for :class:`RDJPEG`; one quality per image is drawn when a range is given.
        metric: the shipped prefilter ("mse", "msssim", "lpips"), or None for none.
        subsampling: "4:2:0" (Pillow's default), "4:2:2" or "4:4:4".
        masking: adaptive DCT-domain masking; default as :func:`rdjpeg.make_plan`'s (on for "mse"). ``metric=None`` and
            ``masking=False`` give plain simulated JPEG.

    Shape:
        - Input: (B, C, H, W) or (C, H, W) float in [0, 1], C ∈ {1, 3}.
        - Output: same shape.

    Example:
        >>> x = torch.rand(2, 3, 32, 32, requires_grad=True)
        >>> DiffRDJPEG(quality=(20, 80))(x).sum().backward()
        >>> x.grad.shape
        torch.Size([2, 3, 32, 32])
    """

    def __init__(self, quality: int | Sequence[int] = 75, metric: str | None = "mse", subsampling: str = "4:2:0",
                 masking: bool | None = None) -> None:  # fmt: skip
        super().__init__()
        from rdjpeg.extras import require
        from rdjpeg.registry import get_metric  # the learned stack: loaded when a differentiable transform is made

        require("learned", "DiffRDJPEG")

        self.quality, self.metric, self.subsampling = quality_range(quality), metric, subsampling
        if metric is not None:
            get_metric(metric)  # an unknown metric: an error now, not in a worker
        self.masking = (metric is not None and default_masking(metric, {})) if masking is None else masking
        # Not a submodule: the shipped prefilter is shared by the process and cached per device (``.to()`` on this
        # transform must not move it); looked up on each call for the input's device.
        self._prefilter = None if metric is None else resolve_prefilter("auto", metric)

    def forward(self, x: Tensor) -> Tensor:
        single = x.dim() == 3
        batch = x[None] if single else x
        q = torch.randint(self.quality[0], self.quality[1] + 1, (batch.shape[0],), device=batch.device)
        from rdjpeg.learned.models.masking import adaptive_masking
        from rdjpeg.learned.simulator import diff_jpeg
        from rdjpeg.registry import get_model

        if self._prefilter is not None:
            batch = get_model(self._prefilter)(device=batch.device)(batch, q)
        if self.masking:
            batch = batch + (adaptive_masking(batch.detach(), q, self.subsampling) - batch).detach()
        out = diff_jpeg(batch, q, self.subsampling)
        return out[0] if single else out

    def extra_repr(self) -> str:
        return (
            f"quality={self.quality}, metric={self.metric!r}, subsampling={self.subsampling!r}, masking={self.masking}"
        )
