"""Textured-shapes segmentation data, generated deterministically (never downloaded).

Each scene is a crop of a real photograph (scikit-image's bundled sample images) with 4-8
shapes pasted on top, each filled with a crop of another photograph (random tint and
brightness). The task is to label every pixel as background, ellipse, triangle, rectangle or
star; masks are exact. Shapes overlap, so the boundaries have many shapes and the class of a
pixel depends on the whole object: the fine FPN level needs the coarse levels' context, which
reaches it through the upsamplers.

Held-out means unseen photographs: :data:`SOURCE_PHOTOS` splits the photographs in two disjoint
sets, and every background and every object texture of a split comes from its own set. Scene
``i`` of a split is drawn from ``numpy.random.default_rng([SPLIT_SEEDS[split], i])``, so the
splits are fixed and the same on every machine.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import skimage
import torch
from PIL import Image
from skimage.draw import ellipse, polygon

__all__ = [
    "CLASS_NAMES",
    "MultiScaleShapes",
    "SOURCE_PHOTOS",
    "SPLIT_SEEDS",
    "ShapesData",
    "load_multiscale",
    "load_split",
    "make_scene",
    "photo_textures",
    "scenes_per_size",
]

CLASS_NAMES = ("background", "ellipse", "triangle", "rectangle", "star")
SPLIT_SEEDS = {"train": 1905, "heldout": 2188}
# Disjoint by photograph: no pixel of a held-out scene comes from a photo seen in training.
SOURCE_PHOTOS = {
    "train": (
        "astronaut.png",
        "chelsea.png",
        "hubble_deep_field.jpg",
        "ihc.png",
        "motorcycle_left.png",
        "rocket.jpg",
        "brick.png",
        "camera.png",
        "cell.png",
        "grass.png",
        "moon.png",
    ),
    "heldout": ("coffee.png", "retina.jpg", "coins.png", "gravel.png", "clock_motion.png"),
}
_DATA_VERSION = 2


@lru_cache(maxsize=2)
def photo_textures(split: str) -> tuple[np.ndarray, ...]:
    """A split's photographs as float32 RGB in [0, 1], long side <= 512, at zoom 1 and 1/2."""
    folder = Path(skimage.__file__).parent / "data"
    out = []
    for name in SOURCE_PHOTOS[split]:
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(
                f"scikit-image sample image {path} is missing; reinstall "
                "scikit-image (the data are generated from its images)"
            )
        image = Image.open(path).convert("RGB")
        scale = min(1.0, 512 / max(image.size))
        for zoom in (1.0, 0.5):
            size = (round(image.size[0] * scale * zoom), round(image.size[1] * scale * zoom))
            out.append(np.asarray(image.resize(size, Image.BILINEAR), np.float32) / 255.0)
    return tuple(out)


def _texture_crop(rng: np.random.Generator, size: int, split: str) -> np.ndarray:
    textures = photo_textures(split)
    while True:
        tex = textures[rng.integers(len(textures))]
        if min(tex.shape[:2]) >= size:
            break
    y = rng.integers(tex.shape[0] - size + 1)
    x = rng.integers(tex.shape[1] - size + 1)
    crop = tex[y : y + size, x : x + size]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    tint = rng.uniform(0.6, 1.2, size=3).astype(np.float32)
    return np.clip(crop * tint + rng.uniform(-0.15, 0.15), 0.0, 1.0)


def _shape_pixels(rng: np.random.Generator, cls: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    radius = rng.uniform(0.09, 0.24) * size
    cy, cx = rng.uniform(0.1, 0.9, size=2) * size
    theta = rng.uniform(0, 2 * np.pi)
    shape = (size, size)
    if cls == 1:  # ellipse
        return ellipse(cy, cx, radius, radius * rng.uniform(0.45, 1.0), shape=shape, rotation=theta)
    if cls == 2:  # triangle, roughly equilateral
        angles = theta + np.array([0, 2, 4]) * np.pi / 3 + rng.uniform(-0.25, 0.25, 3)
        radii = radius * rng.uniform(0.85, 1.1, 3)
    elif cls == 3:  # rotated rectangle
        half = np.array([radius, radius * rng.uniform(0.45, 1.0)])
        corners = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * half
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        ys, xs = (corners @ rot.T).T
        return polygon(cy + ys, cx + xs, shape=shape)
    else:  # five-pointed star
        angles = theta + np.arange(10) * np.pi / 5
        radii = radius * np.where(np.arange(10) % 2 == 0, 1.0, rng.uniform(0.38, 0.55))
    return polygon(cy + radii * np.sin(angles), cx + radii * np.cos(angles), shape=shape)


def make_scene(
    rng: np.random.Generator, size: int = 128, split: str = "train"
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one scene: (image (size, size, 3) uint8, labels (size, size) uint8 class ids).

    Background and object textures come from ``SOURCE_PHOTOS[split]`` only.
    """
    if split not in SOURCE_PHOTOS:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(SOURCE_PHOTOS)}")
    image = _texture_crop(rng, size, split).copy()
    labels = np.zeros((size, size), np.uint8)
    for _ in range(rng.integers(4, 9)):
        cls = int(rng.integers(1, len(CLASS_NAMES)))
        rows, cols = _shape_pixels(rng, cls, size)
        if rows.size == 0:
            continue
        image[rows, cols] = _texture_crop(rng, size, split)[rows, cols]
        labels[rows, cols] = cls
    return (image * 255.0 + 0.5).astype(np.uint8), labels


class ShapesData:
    """A split held in memory: ``images`` (N, 3, H, W) uint8, ``labels`` (N, H, W) int64."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images = images
        self.labels = labels
        self.class_names = list(CLASS_NAMES)

    def __len__(self) -> int:
        return self.images.shape[0]

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images as float in [0, 1] and labels for the given indices."""
        return self.images[indices].float() / 255.0, self.labels[indices]


def load_split(
    split: str, num_images: int, size: int = 128, cache_dir: str | Path | None = None
) -> ShapesData:
    """Generate (or read from ``cache_dir``) the first ``num_images`` scenes of a split."""
    if split not in SPLIT_SEEDS:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(SPLIT_SEEDS)}")
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"shapes_v{_DATA_VERSION}_{split}_{size}px_{num_images}.npz"
        if cache.is_file():
            with np.load(cache) as data:
                return ShapesData(
                    torch.from_numpy(data["images"]), torch.from_numpy(data["labels"]).long()
                )
    images = np.empty((num_images, 3, size, size), np.uint8)
    labels = np.empty((num_images, size, size), np.uint8)
    for i in range(num_images):
        image, label = make_scene(np.random.default_rng([SPLIT_SEEDS[split], i]), size, split)
        images[i] = image.transpose(2, 0, 1)
        labels[i] = label
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".tmp{np.random.default_rng().integers(1 << 30)}.npz")
        np.savez(tmp, images=images, labels=labels)
        tmp.replace(cache)
    return ShapesData(torch.from_numpy(images), torch.from_numpy(labels).long())


class MultiScaleShapes:
    """Scenes of one split generated at several sizes, for scale-robust training.

    ``splits[size]`` holds the scenes made at that size (objects scale with the scene, so a
    512-px scene has objects 4x the radius of a 128-px one). Labels stay uint8 in memory
    and become int64 per batch, which keeps five sizes of scenes in about 2 GB.
    """

    def __init__(self, splits: dict[int, ShapesData]) -> None:
        self.splits = dict(sorted(splits.items()))
        self.sizes = tuple(self.splits)
        self.class_names = list(CLASS_NAMES)

    def batch(self, size: int, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images as float in [0, 1] and int64 labels of scenes ``indices`` at ``size``."""
        data = self.splits[size]
        return data.images[indices].float() / 255.0, data.labels[indices].long()


def scenes_per_size(size: int, base_images: int, base_size: int = 128) -> int:
    """How many scenes to generate at ``size``: fewer for big sizes (each holds more pixels)."""
    return max(200, round(base_images * (base_size / size) ** 1.5))


def load_multiscale(
    split: str, sizes: list[int], base_images: int, cache_dir: str | Path | None = None
) -> MultiScaleShapes:
    """:func:`load_split` at every size in ``sizes``, with :func:`scenes_per_size` scenes each."""
    splits = {}
    for size in sizes:
        data = load_split(split, scenes_per_size(size, base_images, min(sizes)), size, cache_dir)
        splits[size] = ShapesData(data.images, data.labels.to(torch.uint8))
    return MultiScaleShapes(splits)
