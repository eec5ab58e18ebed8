"""Backbones with torchvision's state-dict key names, so its (and mmdetection's) weights load.

Each backbone returns a list of feature maps at strides 4, 8, 16 and 32 and exposes
``out_channels`` (their channel counts) and ``strides``. BatchNorm layers stay in eval mode
(frozen statistics, as in mmdetection's ``norm_eval=True``) unless ``norm_eval=False``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MobileNetV2", "ResNet50", "build_backbone"]


class _FrozenStatsMixin:
    norm_eval: bool

    def train(self, mode: bool = True):
        """Switch to train mode, keeping BatchNorm in eval mode when ``norm_eval`` is set."""
        super().train(mode)
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
        return self


def _conv_bn_relu6(
    c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU6(inplace=True),
    )


class _InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = c_in * expand_ratio
        self.use_residual = stride == 1 and c_in == c_out
        layers = [] if expand_ratio == 1 else [_conv_bn_relu6(c_in, hidden, 1)]
        layers += [
            _conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


# (expand ratio t, channels c, repeats n, first stride s) of MobileNetV2 (Sandler et al. 2018).
_MOBILENET_V2_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


class MobileNetV2(_FrozenStatsMixin, nn.Module):
    """MobileNetV2 (width 1.0) up to ``features.17``, with torchvision's key names.

    Outputs the ends of ``features.3``, ``.6``, ``.13`` and ``.17`` (strides 4/8/16/32,
    channels 24/32/96/320). torchvision's final 1x1 conv (``features.18``) and classifier are
    not part of the backbone; :meth:`load_torchvision_state_dict` drops exactly those keys.
    """

    out_indices = (3, 6, 13, 17)
    out_channels = (24, 32, 96, 320)
    strides = (4, 8, 16, 32)

    def __init__(self, norm_eval: bool = True) -> None:
        super().__init__()
        self.norm_eval = norm_eval
        layers: list[nn.Module] = [_conv_bn_relu6(3, 32, 3, 2)]
        c_in = 32
        for t, c, n, s in _MOBILENET_V2_SETTINGS:
            for i in range(n):
                layers.append(_InvertedResidual(c_in, c, s if i == 0 else 1, t))
                c_in = c
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return the four feature maps (strides 4, 8, 16, 32)."""
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return outs

    def load_torchvision_state_dict(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load torchvision's ``mobilenet_v2`` ImageNet weights strictly (minus head keys)."""
        head = ("features.18.", "classifier.")
        kept = {k: v for k, v in state_dict.items() if not k.startswith(head)}
        self.load_state_dict(kept, strict=True)


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, planes: int, stride: int) -> None:
        super().__init__()
        c_out = planes * self.expansion
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class ResNet50(_FrozenStatsMixin, nn.Module):
    """ResNet-50 (pytorch style: stride on the 3x3 conv) with torchvision's key names.

    No ``fc``: outputs C2..C5 (strides 4/8/16/32, channels 256/512/1024/2048), which is what
    mmdetection's detectors feed to their FPN.
    """

    out_channels = (256, 512, 1024, 2048)
    strides = (4, 8, 16, 32)

    def __init__(self, norm_eval: bool = True) -> None:
        super().__init__()
        self.norm_eval = norm_eval
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c_in = 64
        for index, (planes, blocks, stride) in enumerate(
            ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)), start=1
        ):
            layer = []
            for i in range(blocks):
                layer.append(_Bottleneck(c_in, planes, stride if i == 0 else 1))
                c_in = planes * _Bottleneck.expansion
            setattr(self, f"layer{index}", nn.Sequential(*layer))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return C2..C5."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            outs.append(x)
        return outs


def build_backbone(name: str) -> nn.Module:
    """Build a backbone by name: "mobilenet_v2" or "resnet50"."""
    if name == "mobilenet_v2":
        return MobileNetV2()
    if name == "resnet50":
        return ResNet50()
    raise ValueError(f"unknown backbone {name!r}; choose 'mobilenet_v2' or 'resnet50'")
