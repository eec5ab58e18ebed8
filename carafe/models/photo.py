"""Photo models: the shipped backbone + FPN, trained without labels on photographs.

The two-resolution objective (as in LiFT, JAFAR and NAF): the FPN runs on a half-size photo,
and each top-down step's x2 upsampled map, through a 1x1 adaptor, must rebuild the frozen
backbone's map of the *full-size* photo at the same grid. Upsampled pixel (y, x) of the half
photo's level l covers the same image area as pixel (y, x) of the full photo's level l + 1, so
an upsampler wins only by putting back the detail the half-size photo lost: its kernels must
follow the photo's content. No class, no label, no segmentation head.

A photo model has the same ``forward_with_intermediates(...).steps`` as the scene models (the
same FPN with the same upsampler kinds), so every page reads it the same way; it has no logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from carafe.models.segmentation import ModelIntermediates, SegmentationModel

__all__ = ["PHOTO_TASK", "PhotoModel", "photo_config", "reconstruction_loss"]

PHOTO_TASK = "photo"


def photo_config(scene_config: dict) -> dict:
    """A photo model's config from a scene model's (same backbone, FPN and upsampler)."""
    config = {k: v for k, v in scene_config.items() if k not in ("num_classes", "class_names")}
    config.update(task=PHOTO_TASK, num_classes=0, class_names=[])
    return config


class PhotoModel(SegmentationModel):
    """Frozen ImageNet backbone -> FPN (trained) -> one 1x1 adaptor per top-down step.

    ``adaptors[i]`` maps the output of ``neck.upsample_modules[i]`` (FPN channels) to the
    channels of the backbone map that step's output is asked to rebuild. The FPN's output convs
    are not part of it (the objective reads the top-down maps themselves).
    """

    def __init__(self, config: dict) -> None:
        if config.get("task") != PHOTO_TASK:
            raise ValueError(f"a PhotoModel config has task={PHOTO_TASK!r}, got {config!r}")
        super().__init__(config)
        self.neck.fpn_convs = nn.ModuleList()
        channels = self.backbone.out_channels
        # upsample_modules[i] upsamples level i + 1, rebuilding the full photo's level i + 1
        self.adaptors = nn.ModuleList(
            nn.Conv2d(config["fpn_channels"], channels[i + 1], 1)
            for i in range(len(self.neck.upsample_modules))
        )
        for p in self.backbone.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True):
        """Train the FPN and adaptors; the backbone stays frozen in eval mode."""
        super().train(mode)
        self.backbone.eval()
        return self

    def forward_with_intermediates(self, images: torch.Tensor) -> ModelIntermediates:
        """The backbone maps and the FPN's steps on ``images`` (see the scene models); no
        logits."""
        with torch.no_grad():
            levels = self.backbone(self._prepare(images))
        _, steps = self.neck.forward_with_intermediates(levels, outputs=0)
        return ModelIntermediates(logits=None, levels=levels, steps=steps)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The finest step's reconstruction of the 2x photo's backbone map (N, C, h, w)."""
        step = self.forward_with_intermediates(images).steps[-1]
        return self.adaptors[step.index](step.output)


def _standardised(target: torch.Tensor) -> torch.Tensor:
    """Each channel to zero mean and unit variance over the batch (so every channel counts)."""
    mean = target.mean(dim=(0, 2, 3), keepdim=True)
    std = target.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-3)  # a dead channel stays finite
    return (target - mean) / std


def reconstruction_loss(model: PhotoModel, full: torch.Tensor) -> tuple[torch.Tensor, list[float]]:
    """The two-resolution loss of ``model`` on photos ``full`` (N, 3, H, W) in [0, 1], H and W
    multiples of 2 x the coarsest stride: mean over the steps of the mean squared error between
    each step's adapted output on the half-size photo and the full photo's standardised backbone
    map. Returns (loss, per-step losses, coarsest step first)."""
    d = 2 * model.size_divisor
    if full.shape[-2] % d or full.shape[-1] % d:
        raise ValueError(f"photo crops must be multiples of {d} px, got {tuple(full.shape[-2:])}")
    half = F.avg_pool2d(full, 2)
    with torch.no_grad():
        targets = model.backbone(model._prepare(full))
    steps = model.forward_with_intermediates(half).steps
    losses = []
    for step in steps:
        pred = model.adaptors[step.index](step.output)
        target = _standardised(targets[step.source_level])
        losses.append(F.mse_loss(pred, target))
    loss = torch.stack(losses).mean()
    return loss, [float(v.detach()) for v in losses]
