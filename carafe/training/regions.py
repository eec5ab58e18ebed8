"""What the kernels follow on a photograph, measured without labels.

On a photo the model's classes (ellipse, star, ...) mean nothing, but the photo's own regions
still do: a label-free segmentation (scikit-image's Felzenszwalb graph segmentation) splits it
into regions of similar colour. At every output pixel whose 5x5 source window straddles two or
more regions, :func:`carafe.training.alignment.kernel_alignment` then measures the kernel weight
on the pixel's own region (own-region share) and, of the weight off the centre tap, the part on
its own region (off-centre own share), for CARAFE, the moved control, bilinear and nearest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import skimage
import torch
from PIL import Image
from skimage.segmentation import felzenszwalb

from carafe.training.alignment import kernel_alignment
from carafe.training.data import SOURCE_PHOTOS

__all__ = ["REGION_SCALE", "heldout_photo", "photo_regions", "region_alignment"]

REGION_SCALE = 300  # Felzenszwalb's scale: larger gives fewer, bigger regions
REGION_SIGMA = 0.8  # pre-smoothing (px), scikit-image's default
MIN_REGION_FRACTION = 1 / 1000  # regions smaller than this share of the image are merged


def photo_regions(image: np.ndarray) -> np.ndarray:
    """Region id (H, W) int64 of each pixel of an RGB uint8 photo (H, W, 3)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    min_size = max(20, round(image.shape[0] * image.shape[1] * MIN_REGION_FRACTION))
    regions = felzenszwalb(image, scale=REGION_SCALE, sigma=REGION_SIGMA, min_size=min_size)
    return regions.astype(np.int64)


def region_alignment(model, image: np.ndarray, regions: np.ndarray | None = None) -> dict | None:
    """Own-region and off-centre own-region shares of ``model``'s kernels on one photo.

    ``image`` (H, W, 3) uint8; ``regions`` from :func:`photo_regions` (computed if omitted).
    Same result layout as :func:`~carafe.training.alignment.kernel_alignment` (None for models
    without kernels), with ``"regions"``: the number of regions.
    """
    if regions is None:
        regions = photo_regions(image)
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    result = kernel_alignment(model, x, torch.from_numpy(regions)[None], batch_size=1)
    if result is not None:
        result["regions"] = int(regions.max()) + 1
    return result


def heldout_photo(name: str, long_side: int = 512) -> np.ndarray:
    """A held-out photograph (a whole photo, not a scene) as RGB uint8, long side ``long_side``."""
    if name not in SOURCE_PHOTOS["heldout"]:
        raise ValueError(
            f"{name!r} is not a held-out photo; choose from {SOURCE_PHOTOS['heldout']}"
        )
    image = Image.open(Path(skimage.__file__).parent / "data" / name).convert("RGB")
    scale = long_side / max(image.size)
    size = (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale)))
    return np.asarray(image.resize(size, Image.BILINEAR), dtype=np.uint8)
