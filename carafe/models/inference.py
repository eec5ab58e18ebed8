"""A faster copy of a model for inference only: every BatchNorm that follows a convolution in a
``nn.Sequential`` is folded into that convolution's weights (eval statistics), which removes a
pass over every feature map of the backbone, and the weights are stored channels-last, which
oneDNN's CPU convolutions (the backbone's depthwise ones above all) run about twice as fast.
Outputs agree with the original to float rounding; parameter counts and state-dict keys do not,
so the app uses it only for the twins it runs beside the current model."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["fused_for_inference"]


def fused_for_inference(model: nn.Module) -> nn.Module:
    """An eval-mode, channels-last copy of ``model`` with each (Conv2d, BatchNorm2d) pair of a
    Sequential fused."""
    fused = copy.deepcopy(model).eval()
    for module in fused.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names, names[1:], strict=False):
            conv, norm = module._modules[first], module._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                module._modules[first] = fuse_conv_bn_eval(conv, norm)
                module._modules[second] = nn.Identity()
    return fused.to(memory_format=torch.channels_last)
