"""A faster copy of a model for inference only: every BatchNorm that follows a convolution in a
``nn.Sequential`` is folded into that convolution's weights (eval statistics), which removes a
pass over every feature map of the backbone. Outputs agree with the original to float rounding;
parameter counts and state-dict keys do not, so the app uses it only for the twins it runs
beside the current model."""

from __future__ import annotations

import copy

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["fused_for_inference"]


def fused_for_inference(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` with each (Conv2d, BatchNorm2d) pair of a Sequential fused."""
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
    return fused
