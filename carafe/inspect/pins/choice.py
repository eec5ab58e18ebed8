"""The pinned pixels: the pair "pin an edge pixel and a flat pixel" chooses from the data, and
one pinned pixel's kernel and value. No Streamlit, no drawing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carafe.inspect.pixel import (
    FLAT_TOLERANCE,
    KernelView,
    flat_mask,
    kernel_view,
    start_pixel,
    window_spread,
)
from carafe.inspect.records import StepAnalysis

__all__ = ["PinChoice", "PinView", "choose_pins", "pin_view"]


@dataclass(frozen=True)
class PinChoice:
    """The pixels "pin an edge pixel and a flat pixel" chooses on one step (output pixels).

    flat_is_flat: the second pixel's window lies on one colour (± ``tolerance``); otherwise it
    is the least edgy pixel (the smallest colour ``spread`` under a window inside the image).
    flat_pixels: how many output pixels have a window on one colour.
    """

    edge: tuple[int, int]
    flat: tuple[int, int]
    flat_is_flat: bool
    flat_pixels: int
    spread: float
    tolerance: int = FLAT_TOLERANCE


def choose_pins(
    step: StepAnalysis, image: np.ndarray, segmentation=None, group: int = 0
) -> PinChoice:
    """An edge pixel (:func:`start_pixel`'s choice) and a flat pixel: among the output pixels
    whose window lies on one colour (:func:`flat_mask`), the one whose kernel leans least; when
    there is none, the least edgy pixel (smallest :func:`window_spread`)."""
    d = step.carafe
    if d is None:
        raise ValueError(f"step {step.index} uses {step.kind!r}, not CARAFE: no kernels")
    s = step.geometry.s
    oh, ow = step.visible_output_hw()
    edge = start_pixel(step, group, segmentation)
    lean = np.hypot(d.com_dy[group], d.com_dx[group])[:oh, :ow].astype(np.float64)
    # an output pixel's window is its source input pixel's: repeat the input map s times
    flat = np.repeat(np.repeat(flat_mask(step, image), s, axis=0), s, axis=1)[:oh, :ow]
    spread_in = window_spread(step, image)
    spread = np.repeat(np.repeat(spread_in, s, axis=0), s, axis=1)[:oh, :ow]
    if flat.any():
        score = np.where(flat, lean, np.inf)
    else:
        score = np.where(np.isnan(spread), np.inf, spread)
        if not np.isfinite(score).any():  # no window inside the image at all
            score = lean
    fy, fx = (int(v) for v in np.unravel_index(int(np.argmin(score)), score.shape))
    return PinChoice(
        edge=edge,
        flat=(fy, fx),
        flat_is_flat=bool(flat[fy, fx]),
        flat_pixels=int(flat.sum()),
        spread=float(spread[fy, fx]),
    )


@dataclass(frozen=True)
class PinView:
    """One pinned pixel on the current step: its kernel view and its output value."""

    name: str
    view: KernelView
    channel: int
    value: float


def pin_view(
    step: StepAnalysis, y: int, x: int, name: str, channel: int | None = None, group: int = 0
) -> PinView:
    """Pinned output pixel (y, x): :func:`kernel_view` and its value in ``channel`` (default:
    the step's most energetic channel)."""
    ch = int(step.channel_order[0]) if channel is None else int(channel)
    return PinView(name, kernel_view(step, y, x, group), ch, float(step.output[ch, y, x]))
