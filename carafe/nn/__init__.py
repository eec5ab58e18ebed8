"""Upsamplers: CARAFEPack, DySample and the baselines, behind one registry of kinds, and the
interpolation weights (bilinear taps, point sampling) they and the display layer share."""

from carafe.nn.baselines import Interpolate, PixelShufflePack
from carafe.nn.carafe_pack import CARAFEIntermediates, CARAFEPack
from carafe.nn.dysample import DySample, DySampleIntermediates
from carafe.nn.registry import (
    UPSAMPLER_KINDS,
    UPSAMPLERS,
    UpsamplerKind,
    build_baseline,
    build_upsampler,
    upsampler_cost,
)

__all__ = [
    "UPSAMPLERS",
    "UPSAMPLER_KINDS",
    "CARAFEIntermediates",
    "CARAFEPack",
    "DySample",
    "DySampleIntermediates",
    "Interpolate",
    "PixelShufflePack",
    "UpsamplerKind",
    "build_baseline",
    "build_upsampler",
    "upsampler_cost",
]
