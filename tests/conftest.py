"""Fixtures and helpers for every test folder: random CARAFE inputs (never zeros or ones), a
tiny stand-in segmentation model (fast) and small test images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from carafe.models.fpn import UpsampleStep
from carafe.models.segmentation import ModelIntermediates
from carafe.nn import CARAFEPack


def random_inputs(n, c, h, w, k, g, s, dtype=torch.float64, device="cpu", seed=0, normalised=True):
    """features ~ N(0, 1); masks softmax-normalised per group over the k*k taps (as CARAFEPack
    makes them) or raw N(0, 1) values, which exercise the maths harder."""
    gen = torch.Generator().manual_seed(seed)
    features = torch.randn(n, c, h, w, generator=gen, dtype=torch.float64)
    masks = torch.randn(n, g, k * k, h * s, w * s, generator=gen, dtype=torch.float64)
    if normalised:
        masks = masks.softmax(dim=2)
    masks = masks.reshape(n, g * k * k, h * s, w * s)
    return features.to(device=device, dtype=dtype), masks.to(device=device, dtype=dtype)


class TinySegModel(nn.Module):
    """Two-level FPN-like model with one CARAFE ×2 step; same interface as SegmentationModel."""

    def __init__(self, channels: int = 8, up_group: int = 1, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.backbone = nn.ModuleList(
            [nn.Conv2d(3, channels, 3, 4, 1), nn.Conv2d(channels, channels, 3, 2, 1)]
        )
        self.neck = nn.Module()
        self.neck.upsample_kind = "carafe"
        self.neck.upsample_modules = nn.ModuleList(
            [CARAFEPack(channels, 2, up_group=up_group, compressed_channels=4)]
        )
        for p in self.neck.upsample_modules[0].content_encoder.parameters():
            nn.init.normal_(p, std=0.5)  # make the kernels differ between pixels
        self.head = nn.Conv2d(channels, 3, 1)
        self.num_classes, self.class_names, self.config = 3, ["bg", "a", "b"], {}

    def forward_with_intermediates(self, images):
        c4 = self.backbone[0](images)
        c8 = self.backbone[1](c4)
        parts = self.neck.upsample_modules[0].forward_with_intermediates(c8)
        up = parts.output[..., : c4.shape[-2], : c4.shape[-1]]
        logits = nn.functional.interpolate(
            self.head(c4 + up), size=images.shape[-2:], mode="bilinear", align_corners=False
        )
        step = UpsampleStep(
            index=0,
            kind="carafe",
            input=c8,
            output=up,
            details=parts,
            source_level=1,
            target_level=0,
            stride_in=8,
            stride_out=4,
            module=self.neck.upsample_modules[0],
        )
        return ModelIntermediates(logits=logits, levels=[c4, c8], steps=[step])

    def forward(self, images):
        return self.forward_with_intermediates(images).logits


@pytest.fixture(scope="session")
def tiny_model():
    return TinySegModel().eval()


@pytest.fixture(scope="session")
def small_image():
    """A 52×76 RGB image with a bright disc (odd, non-multiple-of-8 size on purpose)."""
    yy, xx = np.mgrid[:52, :76]
    img = np.zeros((52, 76, 3), np.uint8)
    img[..., 0] = (xx * 3).astype(np.uint8)
    img[((yy - 26) ** 2 + (xx - 38) ** 2) < 15**2] = (250, 240, 30)
    return img
