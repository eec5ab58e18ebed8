"""Models: backbones, the FPN neck with a pluggable upsampler, the segmentation model and
checkpoint I/O (safetensors + JSON, no pickle)."""

from carafe.models.backbones import MobileNetV2, ResNet50, build_backbone
from carafe.models.checkpoint import (
    list_pretrained,
    load_checkpoint,
    load_pretrained,
    save_checkpoint,
)
from carafe.models.fpn import FPN, UpsampleStep
from carafe.models.photo import PHOTO_TASK, PhotoModel, photo_config
from carafe.models.segmentation import (
    ModelIntermediates,
    SegmentationHead,
    SegmentationModel,
    build_model,
    default_config,
)

__all__ = [
    "FPN",
    "ModelIntermediates",
    "MobileNetV2",
    "PHOTO_TASK",
    "PhotoModel",
    "ResNet50",
    "SegmentationHead",
    "SegmentationModel",
    "UpsampleStep",
    "build_backbone",
    "build_model",
    "default_config",
    "list_pretrained",
    "photo_config",
    "load_checkpoint",
    "load_pretrained",
    "save_checkpoint",
]
