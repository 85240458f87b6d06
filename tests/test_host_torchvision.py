"""torchvision's own contract for ``v2.JPEG``, with rdjpeg's ``RDJPEG`` in its place.

The cases follow ``TestJPEG`` of torchvision's ``test/test_transforms_v2.py`` (torchvision 0.29), rewritten here:
the transform on plain tensors, PIL images, ``tv_tensors.Image`` and ``Video``, RGB and gray, one quality or a range;
the same result for a tensor and its PIL image; the parameter bounds; the errors and their words; and the sample
checks of upstream's ``check_transform`` (pickling, types kept, annotations passed through untouched, a batch equal
to its images one by one). Upstream's tests of the functional kernels (``F.jpeg``) do not apply: rdjpeg adds a
transform, not a kernel.
"""

import pickle
import re

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from rdjpeg_plugins.torchvision import RDJPEG


def make_image(color_space="RGB", size=(17, 11), batch=()) -> tv_tensors.Image:
    channels = 3 if color_space == "RGB" else 1
    generator = torch.Generator().manual_seed(0)
    return tv_tensors.Image(torch.randint(0, 256, (*batch, channels, *size), dtype=torch.uint8, generator=generator))


def make_input(kind: str, color_space: str):
    image = make_image(color_space)
    if kind == "tensor":
        return image.as_subclass(torch.Tensor)
    if kind == "pil":
        return F.to_pil_image(image)
    if kind == "video":
        return tv_tensors.Video(make_image(color_space, batch=(3,)))
    return image


@pytest.mark.parametrize("kind", ["tensor", "pil", "image", "video"])
@pytest.mark.parametrize("quality", [5, (10, 20)])
@pytest.mark.parametrize("color_space", ["RGB", "GRAY"])
def test_transform(kind, quality, color_space):
    transform = RDJPEG(quality=quality)
    inpt = make_input(kind, color_space)
    output = transform(inpt)
    assert type(output) is type(inpt)
    assert F.get_size(output) == F.get_size(inpt)
    if isinstance(inpt, torch.Tensor):
        assert output.dtype == inpt.dtype and output.shape == inpt.shape
    else:
        assert output.mode == inpt.mode
    assert type(pickle.loads(pickle.dumps(transform))(inpt)) is type(inpt)


@pytest.mark.parametrize("quality", [5, (10, 20)])
@pytest.mark.parametrize("color_space", ["RGB", "GRAY"])
@pytest.mark.parametrize("seed", range(3))
def test_transform_image_correctness(quality, color_space, seed):
    """A tensor and its PIL image get the same result (torch's seed fixes the quality drawn)."""
    image = make_image(color_space)
    transform = RDJPEG(quality=quality)
    torch.manual_seed(seed)
    actual = transform(image)
    torch.manual_seed(seed)
    expected = F.to_image(transform(F.to_pil_image(image)))
    torch.testing.assert_close(actual.as_subclass(torch.Tensor), expected.as_subclass(torch.Tensor), rtol=0, atol=1)


@pytest.mark.parametrize("quality", [5, (10, 20)])
@pytest.mark.parametrize("seed", range(10))
def test_transform_get_params_bounds(quality, seed):
    torch.manual_seed(seed)
    params = RDJPEG(quality=quality).make_params([])
    if isinstance(quality, int):
        assert params["quality"] == quality
    else:
        assert quality[0] <= params["quality"] <= quality[1]


@pytest.mark.parametrize("quality", [[0], [0, 0, 0]])
def test_transform_sequence_len_error(quality):
    with pytest.raises(ValueError, match="quality should be a sequence of length 2"):
        RDJPEG(quality=quality)


@pytest.mark.parametrize("quality", [-1, 0, 150])
def test_transform_invalid_quality_error(quality):
    with pytest.raises(ValueError, match="quality must be an integer from 1 to 100"):
        RDJPEG(quality=quality)


@pytest.mark.parametrize("quality", [None, True])
def test_transform_quality_type_error(quality):
    with pytest.raises(TypeError, match="quality"):
        RDJPEG(quality=quality)


def test_sample_with_annotations_passes_them_through():
    """As upstream's check_transform: every item without an image kernel comes back as the very same object."""
    image = make_image(size=(32, 24))
    sample = {
        "image": image,
        "boxes": tv_tensors.BoundingBoxes([[1, 2, 10, 12]], format="XYXY", canvas_size=(32, 24)),
        "mask": tv_tensors.Mask(torch.zeros(32, 24, dtype=torch.uint8)),
        "points": tv_tensors.KeyPoints([[3.0, 4.0]], canvas_size=(32, 24)),
        "label": 3, "name": "x", "none": None, "array": np.empty(5),
    }  # fmt: skip
    output = RDJPEG(quality=50)(sample)
    assert isinstance(output["image"], tv_tensors.Image) and output["image"].shape == image.shape
    for key in sample.keys() - {"image"}:
        assert output[key] is sample[key], key


def test_batch_equals_its_images_one_by_one():
    batch = make_image(batch=(4,))
    torch.manual_seed(0)
    together = RDJPEG(quality=(10, 90))(batch)
    torch.manual_seed(0)
    quality = RDJPEG(quality=(10, 90)).make_params([])["quality"]
    one_by_one = torch.stack([RDJPEG(quality=quality)(image) for image in batch])
    assert torch.equal(together.as_subclass(torch.Tensor), one_by_one.as_subclass(torch.Tensor))


def test_in_a_v2_pipeline_like_v2_jpeg():
    steps = [v2.RandomHorizontalFlip(p=1.0), RDJPEG(quality=(30, 90)), v2.ToDtype(torch.float32, scale=True)]
    pipeline = v2.Compose(steps)
    out = pipeline(make_image(size=(40, 30)))
    assert out.dtype == torch.float32 and out.shape == (3, 40, 30)


def test_messages_read_like_v2_jpeg():
    for quality in (0, 101, (50, 40), [0], (1, 2, 3), 50.0, (50.0, 60.0), [0, 10], None, True):
        with pytest.raises(Exception) as expected:
            v2.JPEG(quality)
        with pytest.raises(expected.type, match=re.escape(str(expected.value))):
            RDJPEG(quality)


def test_pil_modes():
    with pytest.raises(ValueError, match="mode"):
        RDJPEG(quality=50)(Image.new("RGBA", (8, 8)))
