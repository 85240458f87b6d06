import io

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2

import rdjpeg
from rdjpeg_plugins.torchvision import RDJPEG, DiffRDJPEG


def photo(h=32, w=40, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    return np.array(Image.fromarray(base).resize((w, h), Image.BICUBIC))


def roundtrip(a: np.ndarray, q: int, **options) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(rdjpeg.encode(a, q, **options))))


def test_pil_and_tensor_match_the_codec():
    a = photo().copy()
    out = RDJPEG(quality=50)(Image.fromarray(a))
    assert isinstance(out, Image.Image) and np.array_equal(np.asarray(out), roundtrip(a, 50))
    t = torch.from_numpy(a).permute(2, 0, 1)
    out = RDJPEG(quality=50)(t)
    assert out.dtype == torch.uint8 and torch.equal(out.permute(1, 2, 0), torch.from_numpy(roundtrip(a, 50)))


def test_batches_grayscale_and_tv_tensors():
    batch = torch.stack([torch.from_numpy(photo(seed=i)).permute(2, 0, 1) for i in range(3)]).reshape(3, 1, 3, 32, 40)
    out = RDJPEG(quality=(30, 60))(batch)
    assert out.shape == batch.shape and out.dtype == torch.uint8
    gray = torch.from_numpy(photo()[..., 0])[None]
    assert RDJPEG(40)(gray).shape == (1, 32, 40)
    image = tv_tensors.Image(torch.from_numpy(photo()).permute(2, 0, 1))
    assert isinstance(RDJPEG(40)(image), tv_tensors.Image)


def test_annotations_pass_through():
    image = tv_tensors.Image(torch.from_numpy(photo()).permute(2, 0, 1))
    boxes = tv_tensors.BoundingBoxes([[1, 2, 10, 12]], format="XYXY", canvas_size=(32, 40))
    mask = tv_tensors.Mask(torch.zeros(32, 40, dtype=torch.uint8))
    sample = {"image": image, "boxes": boxes, "mask": mask, "label": 3}
    out = v2.Compose([RDJPEG(quality=(20, 90)), v2.ToDtype(torch.float32, scale=True)])(sample)
    assert out["boxes"] is boxes or torch.equal(out["boxes"], boxes)
    assert torch.equal(out["mask"], mask) and out["label"] == 3
    assert out["image"].dtype == torch.float32


def test_bad_arguments():
    with pytest.raises(ValueError, match="backend"):
        RDJPEG(backend="nope")
    with pytest.raises(ValueError, match="metric"):
        DiffRDJPEG(metric="nope")


def test_annotations_without_an_image_kernel_pass_through():
    image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    points = tv_tensors.KeyPoints(torch.tensor([[3.0, 4.0]]), canvas_size=(32, 32))
    boxes = tv_tensors.BoundingBoxes(torch.tensor([[1, 2, 10, 12]]), format="XYXY", canvas_size=(32, 32))
    out = RDJPEG(50)({"image": tv_tensors.Image(image), "points": points, "boxes": boxes, "name": "x"})
    assert out["points"] is points and out["boxes"] is boxes and out["name"] == "x"
    assert isinstance(out["image"], tv_tensors.Image) and out["image"].shape == image.shape


def test_bad_inputs():
    with pytest.raises(ValueError, match="uint8"):
        RDJPEG(50)(torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match="mode"):
        RDJPEG(50)(Image.new("RGBA", (8, 8)))


class Images(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torch.from_numpy(photo(seed=i)).permute(2, 0, 1)


def test_dataloader_with_workers():
    torch.manual_seed(0)
    transform = RDJPEG(quality=60)
    dataset = Images()

    class Transformed(torch.utils.data.Dataset):
        def __len__(self):
            return len(dataset)

        def __getitem__(self, i):
            return transform(dataset[i])

    batches = list(torch.utils.data.DataLoader(Transformed(), batch_size=2, num_workers=2))
    expected = torch.stack([transform(dataset[i]) for i in range(4)])
    assert torch.equal(torch.cat(batches), expected)


def test_differentiable_variant():
    x = (torch.from_numpy(photo()).permute(2, 0, 1)[None].float() / 255).requires_grad_()
    jpeg = DiffRDJPEG(quality=50)
    y = jpeg(x)
    assert y.shape == x.shape
    # the forward pass is the real codec's decode
    assert torch.equal(
        (y.detach()[0] * 255).round().byte().permute(1, 2, 0), torch.from_numpy(roundtrip(photo(), 50, metric="mse"))
    )
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert DiffRDJPEG(quality=(20, 80), metric=None, masking=False)(x[0]).shape == x.shape[1:]


def test_moving_the_transform_leaves_the_shared_prefilter_alone():
    shared = rdjpeg.prefilter("msssim")
    transform = DiffRDJPEG(quality=50, metric="msssim").to(torch.float64)
    assert not list(transform.parameters())  # the shared network is not a submodule
    assert next(shared.parameters()).dtype == torch.float32
    assert rdjpeg.prefilter("msssim", device="cpu") is shared
    x = torch.rand(1, 3, 32, 32)
    assert transform(x).shape == x.shape
