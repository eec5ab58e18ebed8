"""The tour's Sandbox step: the Sandbox's profile line through the tour's pixel, on the
Sandbox's copy of the image, in the direction its kernel leans. No Streamlit, no drawing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carafe.inspect.pixel import kernel_view
from carafe.inspect.records import StepAnalysis

__all__ = ["SandboxLine", "sandbox_line"]


@dataclass(frozen=True)
class SandboxLine:
    """The Sandbox's profile line for the tour's pixel, on the Sandbox's copy of the image:
    centre (cy, cx) and length in that copy's pixels, angle in degrees counter-clockwise from
    → (the Sandbox's convention); ``scale``: copy size / image size."""

    cy: int
    cx: int
    angle: int
    length: int
    scale: float
    hw: tuple[int, int]


def sandbox_line(
    step: StepAnalysis, y: int, x: int, sandbox_hw: tuple[int, int], group: int = 0
) -> SandboxLine:
    """The Sandbox's line for output pixel (y, x) of ``step``: through the pixel's centre on
    the image, scaled onto the Sandbox's copy (``sandbox_hw``), pointing where its kernel leans
    (→ for a kernel without lean), one window's width (k input pixels) each side."""
    image_h = step.image_hw[0]
    scale = sandbox_hw[0] / image_h
    h, w = int(sandbox_hw[0]), int(sandbox_hw[1])
    iy, ix = step.geometry.image_centre(int(y), int(x))
    # pixel centres scale, not pixel indices
    cy = int(np.clip(round((iy + 0.5) * scale - 0.5), 0, h - 1))
    cx = int(np.clip(round((ix + 0.5) * scale - 0.5), 0, w - 1))
    dy, dx = kernel_view(step, y, x, group).lean
    angle = int(round(np.degrees(np.arctan2(-dy, dx)))) % 360 if np.hypot(dy, dx) > 1e-6 else 0
    reach = step.geometry.k * step.stride_in  # the model's strides: the same on the copy
    length = int(min(max(8, 2 * reach), 2 * max(h, w)))
    return SandboxLine(cy, cx, angle, length, float(scale), (h, w))
