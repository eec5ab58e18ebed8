"""Backbone + FPN (+ optional segmentation head) as one model, built from a plain config dict."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from carafe.models.backbones import build_backbone
from carafe.models.fpn import FPN, UpsampleStep
from carafe.nn import UPSAMPLERS

__all__ = [
    "ModelIntermediates",
    "SegmentationHead",
    "SegmentationModel",
    "build_model",
    "default_config",
]


@dataclass
class ModelIntermediates:
    """What :meth:`SegmentationModel.forward_with_intermediates` returns.

    logits: (N, num_classes, H, W) at input resolution, or None without a head.
    levels: the backbone maps of the padded input, finest first.
    steps:  one :class:`carafe.models.fpn.UpsampleStep` per top-down step, coarsest first.
    """

    logits: torch.Tensor | None
    levels: list[torch.Tensor]
    steps: list[UpsampleStep]


# ImageNet statistics (torchvision's and mmdetection's), for images in [0, 1].
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def default_config(
    upsampler: str = "carafe",
    num_classes: int = 5,
    class_names: list[str] | None = None,
    fpn_channels: int = 64,
) -> dict:
    """The config of the small shipped model: MobileNetV2 + 4-level FPN + head on stride 4."""
    up = {"kind": upsampler, **UPSAMPLERS[upsampler].default_options(fpn_channels)}
    return {
        "backbone": "mobilenet_v2",
        "fpn_channels": fpn_channels,
        "num_outs": 4,
        "upsampler": up,
        "head_channels": fpn_channels,
        "num_classes": num_classes,
        "class_names": list(class_names or [f"class_{i}" for i in range(num_classes)]),
    }


class SegmentationHead(nn.Module):
    """3x3 conv + BN + ReLU, then a 1x1 classifier, on the finest FPN level."""

    def __init__(self, in_channels: int, channels: int, num_classes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(F.relu(self.bn(self.conv(x))))


class SegmentationModel(nn.Module):
    """Backbone -> FPN -> head; logits at input resolution.

    Takes float images (N, 3, H, W) in [0, 1] of any size: they are normalised with ImageNet
    statistics and padded (bottom/right) to a multiple of the coarsest stride by replicating
    the last row and column (edge padding), and the result is cropped back; sizes that are
    already a multiple are not padded. ``head`` is None for converted detection checkpoints
    (neck only).
    """

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = copy.deepcopy(config)
        self.backbone = build_backbone(config["backbone"])
        self.neck = FPN(
            list(self.backbone.out_channels),
            list(self.backbone.strides),
            config["fpn_channels"],
            config["upsampler"],
            config.get("num_outs"),
        )
        self.num_classes = int(config.get("num_classes", 0))
        self.class_names = list(config.get("class_names", []))
        if self.num_classes and len(self.class_names) != self.num_classes:
            raise ValueError(
                f"config has {self.num_classes} classes but {len(self.class_names)} class_names"
            )
        self.head = None
        if self.num_classes:
            self.head = SegmentationHead(
                config["fpn_channels"], config["head_channels"], self.num_classes
            )
        self.size_divisor = self.neck.strides[-1]
        self.register_buffer("pixel_mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(
                f"images must be (N, 3, H, W) floats in [0, 1], got shape {tuple(images.shape)}"
            )
        if not images.is_floating_point():
            raise TypeError(f"images must be floats in [0, 1], got dtype {images.dtype}")
        x = (images - self.pixel_mean) / self.pixel_std
        h, w = x.shape[-2:]
        d = self.size_divisor
        pad = (0, -w % d, 0, -h % d)
        if not any(pad):
            return x
        # Replicate, not zeros: the models never saw zero padding in training (every training
        # size is a multiple of the stride), and repeating the last row/column keeps the
        # border statistics of the image instead of adding a flat mean-grey band.
        return F.pad(x, pad, mode="replicate")

    def forward_with_intermediates(self, images: torch.Tensor) -> ModelIntermediates:
        """Run the model and keep what the app shows (see :class:`ModelIntermediates`).

        Maps are those of the padded input (see the class docstring); logits are cropped back.
        """
        levels = self.backbone(self._prepare(images))
        # the head reads the finest level only: the other output convs are skipped
        outputs = 1 if self.head is not None else None
        pyramid, steps = self.neck.forward_with_intermediates(levels, outputs=outputs)
        logits = None
        if self.head is not None:
            logits = self.head(pyramid[0])
            logits = F.interpolate(
                logits, scale_factor=self.neck.strides[0], mode="bilinear", align_corners=False
            )
            logits = logits[..., : images.shape[-2], : images.shape[-1]]
        return ModelIntermediates(logits=logits, levels=levels, steps=steps)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return segmentation logits (N, num_classes, H, W)."""
        if self.head is None:
            raise RuntimeError(
                "this model has no segmentation head (a converted detection "
                "backbone + neck); use forward_with_intermediates()"
            )
        return self.forward_with_intermediates(images).logits


def build_model(config: dict) -> SegmentationModel:
    """Build a :class:`SegmentationModel` from its config dict (see :func:`default_config`)."""
    return SegmentationModel(config)
