"""Upsamplers: CARAFEPack, FADE, SAPA, DySample and the baselines, behind one registry of kinds, and the
interpolation weights (bilinear taps, point sampling) they and the display layer share."""

from carafe.nn.baselines import Interpolate, PixelShufflePack
from carafe.nn.carafe_pack import CARAFEIntermediates, CARAFEPack
from carafe.nn.dysample import DySample, DySampleIntermediates
from carafe.nn.fade import FADE, FADEIntermediates
from carafe.nn.registry import (
    CONTROL_KIND,
    FAMILIES,
    SUBJECT_KIND,
    UPSAMPLER_KINDS,
    UPSAMPLERS,
    UpsamplerKind,
    build_baseline,
    build_upsampler,
    kinds_where,
    register_upsampler,
    run_upsampler,
    upsampler_cost,
)
from carafe.nn.sapa import SAPA, SAPAIntermediates

__all__ = [
    "CONTROL_KIND",
    "FAMILIES",
    "SUBJECT_KIND",
    "UPSAMPLERS",
    "UPSAMPLER_KINDS",
    "CARAFEIntermediates",
    "CARAFEPack",
    "DySample",
    "DySampleIntermediates",
    "FADE",
    "FADEIntermediates",
    "SAPA",
    "SAPAIntermediates",
    "Interpolate",
    "PixelShufflePack",
    "UpsamplerKind",
    "build_baseline",
    "build_upsampler",
    "kinds_where",
    "register_upsampler",
    "run_upsampler",
    "upsampler_cost",
]
