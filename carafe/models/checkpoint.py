"""Checkpoints: a safetensors file of weights plus a JSON config beside it (no pickle).

``model.safetensors`` + ``model.json``. Shipped checkpoints live in ``assets/`` (names
"carafe", "bilinear", ...) and converted mmdetection checkpoints in ``assets/converted/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from carafe.assets import ASSETS_DIR
from carafe.models.photo import PHOTO_TASK, PhotoModel
from carafe.models.segmentation import SegmentationModel, build_model

__all__ = ["list_pretrained", "load_checkpoint", "load_pretrained", "save_checkpoint"]


def _config_path(path: Path) -> Path:
    return path.with_suffix(".json")


def save_checkpoint(model: SegmentationModel, path: str | Path, half: bool = False) -> Path:
    """Write ``path`` (.safetensors) and its config ``path.with_suffix('.json')``.

    ``half=True`` stores floating-point tensors as float16 (half the size); they are loaded
    back as float32. Returns the safetensors path.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"checkpoint path must end in .safetensors, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu().contiguous()
        if half and value.is_floating_point():
            value = value.half()
        tensors[key] = value
    save_file(tensors, str(path))
    _config_path(path).write_text(json.dumps(model.config, indent=2) + "\n")
    return path


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> SegmentationModel:
    """Build the model described by the JSON beside ``path`` and load its weights strictly."""
    path = Path(path)
    config_file = _config_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if not config_file.is_file():
        raise FileNotFoundError(
            f"checkpoint config not found: {config_file} (it must sit beside {path.name})"
        )
    config = json.loads(config_file.read_text())
    model = PhotoModel(config) if config.get("task") == PHOTO_TASK else build_model(config)
    state = {
        k: (v.float() if v.is_floating_point() else v) for k, v in load_file(str(path)).items()
    }
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


def _available() -> dict[str, Path]:
    found = {}
    for folder in (ASSETS_DIR, ASSETS_DIR / "converted"):
        for path in sorted(folder.glob("*.safetensors")):
            if _config_path(path).is_file():
                found.setdefault(path.stem, path)
    return found


def list_pretrained() -> list[str]:
    """Names accepted by :func:`load_pretrained` (shipped and converted checkpoints)."""
    return sorted(_available())


def load_pretrained(name: str = "carafe", device: str | torch.device = "cpu") -> SegmentationModel:
    """Load a shipped ("carafe", "bilinear", ...) or converted checkpoint in eval mode."""
    available = _available()
    if name not in available:
        raise ValueError(
            f"unknown pretrained model {name!r}; available: "
            f"{', '.join(sorted(available)) or 'none (assets/ is empty)'}"
        )
    return load_checkpoint(available[name], device)
