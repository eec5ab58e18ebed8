"""Convert an mmdetection R-50 FPN(_CARAFE) checkpoint into a checkpoint this project opens.

    carafe-convert-mmdet faster_rcnn_r50_fpn_carafe_1x_coco.pth \\
        assets/converted/faster_rcnn_carafe.safetensors

Reads the model-zoo file with ``torch.load(weights_only=True)`` (never a full unpickle), keeps
the backbone (ResNet-50, torchvision key names, pytorch style) and the neck, infers the neck's
settings from the weight shapes, and writes safetensors + JSON. Files saved under
``assets/converted/`` appear in :func:`carafe.models.list_pretrained` by their stem. The
detection heads are dropped: the model has no segmentation head (``head`` is None), which is
all the app needs to show the COCO-trained CARAFE kernels on any image.
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import torch

from carafe.models import build_model, save_checkpoint

__all__ = ["convert", "infer_neck_config", "main", "read_mmdet_state_dict"]


class ConversionError(ValueError):
    """The input is not an mmdetection R-50 FPN checkpoint this converter understands."""


def read_mmdet_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Load ``path`` safely and return its flat state dict (``state_dict`` entry or the dict)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such checkpoint: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        raise ConversionError(
            f"{path} cannot be read as a weights-only PyTorch checkpoint ({err}). Only plain "
            "tensors, numbers, strings and containers are accepted; files that pickle other "
            "objects are refused rather than unpickled."
        ) from err
    if not isinstance(obj, dict):
        raise ConversionError(
            f"{path} holds a {type(obj).__name__}, expected a dict with "
            "'state_dict' (mmdetection model-zoo format)"
        )
    state = obj.get("state_dict", obj)
    if not isinstance(state, dict) or not any(
        isinstance(k, str) and k.startswith("backbone.") for k in state
    ):
        raise ConversionError(
            f"{path} has no 'backbone.*' weights: not an mmdetection detector "
            f"checkpoint (top-level keys: {sorted(map(str, obj))[:8]})"
        )
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def _split_up_kernel(taps_times_groups: int) -> tuple[int, int]:
    """(up_kernel, up_group) from k*k*G: the largest odd k whose square divides it."""
    for k in range(15, 0, -2):
        if taps_times_groups % (k * k) == 0:
            return k, taps_times_groups // (k * k)
    raise ConversionError(f"cannot split {taps_times_groups} encoder channels into k*k*G")


def infer_neck_config(neck: dict[str, torch.Tensor]) -> dict:
    """The FPN settings (channels, num_outs, upsampler) implied by the neck's weight shapes."""
    if "lateral_convs.0.conv.weight" not in neck:
        raise ConversionError("neck has no lateral_convs.0.conv.weight: not an FPN neck")
    channels = neck["lateral_convs.0.conv.weight"].shape[0]
    num_outs = len({k.split(".")[1] for k in neck if k.startswith("lateral_convs.")})
    up = {
        k.removeprefix("upsample_modules.0."): v
        for k, v in neck.items()
        if k.startswith("upsample_modules.0.")
    }
    if "content_encoder.weight" in up:
        encoder = up["content_encoder.weight"]
        k_up, groups = _split_up_kernel(encoder.shape[0] // 4)
        upsampler = {
            "kind": "carafe",
            "up_kernel": k_up,
            "up_group": groups,
            "encoder_kernel": encoder.shape[-1],
            "encoder_dilation": 1,
            "compressed_channels": up["channel_compressor.weight"].shape[0],
        }
    elif "upsample_conv.weight" in up:
        upsampler = {
            "kind": "pixel_shuffle",
            "upsample_kernel": up["upsample_conv.weight"].shape[-1],
        }
    elif "weight" in up:
        upsampler = {"kind": "deconv", "upsample_kernel": up["weight"].shape[-1]}
    else:  # parameter-free; mmdetection's plain FPN default
        upsampler = {"kind": "nearest"}
    return {"fpn_channels": channels, "num_outs": num_outs, "upsampler": upsampler}


def convert(src: str | Path, dst: str | Path, half: bool = False) -> Path:
    """Convert ``src`` (mmdetection .pth) to ``dst`` (.safetensors + .json); returns ``dst``."""
    state = read_mmdet_state_dict(src)
    backbone = {
        k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")
    }
    neck = {k.removeprefix("neck."): v for k, v in state.items() if k.startswith("neck.")}
    if "layer4.2.conv3.weight" not in backbone or "layer3.5.conv3.weight" not in backbone:
        raise ConversionError(
            "backbone is not a ResNet-50 with torchvision key names (layer3.5 / layer4.2 missing)"
        )
    config = {
        "backbone": "resnet50",
        **infer_neck_config(neck),
        "num_classes": 0,
        "class_names": [],
        "source": f"mmdetection checkpoint {Path(src).name}",
    }
    model = build_model(config)
    for part, weights in (("backbone", backbone), ("neck", neck)):
        module = getattr(model, part)
        for key, value in module.state_dict().items():  # very old files lack BN counters
            if key.endswith("num_batches_tracked"):
                weights.setdefault(key, torch.zeros_like(value))
        missing, unexpected = module.load_state_dict(weights, strict=False)
        if missing or unexpected:
            raise ConversionError(
                f"{part} weights do not match mmdetection's R-50 FPN layout: "
                f"missing {missing[:5]}, unexpected {unexpected[:5]}"
            )
    return save_checkpoint(model, Path(dst), half=half)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    p = argparse.ArgumentParser(
        prog="carafe-convert-mmdet",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("src", type=Path, help="mmdetection checkpoint (.pth)")
    p.add_argument("dst", type=Path, help="output .safetensors (a .json is written beside it)")
    p.add_argument("--half", action="store_true", help="store weights as float16")
    args = p.parse_args(argv)
    try:
        out = convert(args.src, args.dst, half=args.half)
    except (ConversionError, FileNotFoundError) as err:
        raise SystemExit(f"error: {err}") from err
    print(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
