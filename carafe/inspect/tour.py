"""The guided tour and the pinned pixels: the tour's steps, the sentences its banner shows (each
worded from the analysis it describes), the pair of pixels "pin an edge pixel and a flat pixel"
chooses, and the sentence that compares two pinned kernels.

The tour carries one output pixel from Explore through How it works to the Sandbox and back.
Every sentence here states a fact about the data, so each is computed from the numbers it
quotes and says the opposite where the numbers say the opposite. No Streamlit, no drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carafe.inspect.explain import PixelExplanation, explain_pixel
from carafe.inspect.kernel_compare import PixelComparison, compare_pixel
from carafe.inspect.pixel import (
    FLAT_TOLERANCE,
    KernelView,
    flat_mask,
    kernel_view,
    start_pixel,
    window_spread,
)
from carafe.inspect.records import StepAnalysis
from carafe.inspect.sandbox.profile import Profile

__all__ = [
    "CENTRED",
    "STEPS",
    "PinChoice",
    "PinView",
    "SandboxLine",
    "TourStep",
    "choose_pins",
    "edge_sentence",
    "kernel_sentence",
    "pin_choice_sentence",
    "pin_view",
    "pins_sentence",
    "pixel_sentence",
    "reassembly_sentence",
    "sandbox_line",
    "sandbox_sentence",
    "softmax_sentence",
]

CENTRED = 0.25  # a kernel whose centre of mass lies within a quarter tap of the centre
CLEAR = 0.05  # two shares closer than this are "about the same"
PEAKED = 2.0  # a peak this many times a uniform kernel's weight makes a peaked kernel
STEEPER = 1.2  # a step this many times bilinear's is "clearly steeper" (as on the Sandbox)


@dataclass(frozen=True)
class TourStep:
    """One step of the tour: the page it shows, its title, where to look (an instruction, not
    a fact about the data) and, on How it works, which of its five stages to open."""

    key: str
    page: str  # "explore", "how_it_works" or "sandbox"
    title: str
    look: str
    stage: int | None = None
    pins: bool = False  # the step pins an edge pixel and a flat pixel on arrival


STEPS: tuple[TourStep, ...] = (
    TourStep(
        "kernel",
        "explore",
        "One pixel and its kernel",
        "The framed pixel on the image is the tour's pixel; its reassembly kernel is drawn on "
        "the right. The tour keeps this image point on every page.",
    ),
    TourStep(
        "edge",
        "explore",
        "The objects under its window",
        "Scroll down to *The same pixel, three ways*: CARAFE's kernel beside bilinear's and "
        "nearest's, on the same window, with the taps on another predicted object marked.",
    ),
    TourStep(
        "softmax",
        "how_it_works",
        "From logits to weights",
        "The softmax stage of How it works, for the same pixel: the k² logits the content "
        "encoder predicted become the kernel's weights.",
        stage=3,
    ),
    TourStep(
        "reassembly",
        "how_it_works",
        "Reassembly",
        "The last stage: the kernel multiplies the window of one feature channel and the "
        "products add up to the output value, next to bilinear's.",
        stage=4,
    ),
    TourStep(
        "sandbox",
        "sandbox",
        "Across the edge, in the Sandbox",
        "The Sandbox now holds a small copy of your image, with the profile line through your "
        "pixel's point, in the direction its kernel leans. Look at *Across the edge: a "
        "profile* below.",
    ),
    TourStep(
        "pins",
        "explore",
        "An edge pixel beside a flat pixel",
        "Back on Explore, scroll to the *Pinned pixels* panel (after *The same pixel, three "
        "ways*): an edge pixel and a flat pixel side by side, on one colour scale.",
        pins=True,
    ),
)


# --- words ---------------------------------------------------------------------------------


def _direction(dy: float, dx: float) -> str:
    """'up', 'down and to the left', ... for a lean (rows down, columns right)."""
    dist = float(np.hypot(dy, dx))
    parts = []
    if abs(dy) >= 0.4 * dist:
        parts.append("up" if dy < 0 else "down")
    if abs(dx) >= 0.4 * dist:
        parts.append("to the left" if dx < 0 else "to the right")
    return " and ".join(parts)


def _peak_words(kernel: np.ndarray, peak: float) -> str:
    """'Its heaviest tap holds 0.42; its 2 heaviest taps hold half of the weight.'"""
    heaviest = np.sort(kernel.ravel())[::-1].cumsum()
    n = int(np.searchsorted(heaviest, 0.5 * heaviest[-1]) + 1)
    half = "" if n == 1 else f"; its {n} heaviest taps hold half of the weight"
    return f"Its heaviest tap holds {peak:.2f}{half}."


# --- the tour's sentences ------------------------------------------------------------------


def kernel_sentence(v: KernelView) -> str:
    """Where output pixel (v.y, v.x)'s kernel puts its weight: the side it leans to and how
    much lies there, or that it is centred."""
    k = v.kernel.shape[0]
    r = (k - 1) // 2
    dy, dx = v.lean
    peak = _peak_words(v.kernel, v.peak)
    head = f"Output pixel ({v.y}, {v.x})'s {k}×{k} kernel"
    if np.hypot(dy, dx) < CENTRED:
        text = (
            f"{head} is centred: its centre of mass lies ({dy:+.2f}, {dx:+.2f}) taps from the "
            f"window's centre, under a quarter tap. {peak}"
        )
    else:
        if abs(dx) >= abs(dy):
            near = v.kernel[:, :r] if dx < 0 else v.kernel[:, r + 1 :]
            far = v.kernel[:, r + 1 :] if dx < 0 else v.kernel[:, :r]
            side = ("left" if dx < 0 else "right") + " of the window's centre column"
        else:
            near = v.kernel[:r] if dy < 0 else v.kernel[r + 1 :]
            far = v.kernel[r + 1 :] if dy < 0 else v.kernel[:r]
            side = ("above" if dy < 0 else "below") + " the window's centre row"
        text = (
            f"{head} leans {np.hypot(dy, dx):.2f} taps {_direction(dy, dx)}: it puts "
            f"{near.sum():.2f} of its weight on the {near.size} taps {side}, against "
            f"{far.sum():.2f} on the other side. {peak}"
        )
    if v.padding_weight > 0.01:
        text += f" {v.padding_weight:.2f} of the weight lies on taps outside the image."
    return text


def _class_name(label: int, class_names) -> str:
    names = list(class_names or [])
    return str(names[label]) if 0 <= label < len(names) else f"class {label}"


def edge_sentence(cmp: PixelComparison, class_names=None) -> str:
    """Whether the pixel's window crosses a predicted boundary and how CARAFE's weight on the
    pixel's own class compares with bilinear's there."""
    if cmp.window_labels is None or cmp.own_label is None:
        return (
            "This model gives no segmentation, so there is no predicted boundary to compare with."
        )
    share = {m.method: m.own_share for m in cmp.methods}
    c, b = share["carafe"], share["bilinear"]
    labels = cmp.window_labels
    classes = [int(v) for v in np.unique(labels[labels >= 0])]
    own = _class_name(cmp.own_label, class_names)
    k = labels.shape[0]
    if len(classes) < 2:
        return (
            f"Its whole {k}×{k} window lies on one predicted class, {own}: CARAFE puts "
            f"{c:.2f} of its weight on it and bilinear {b:.2f}"
            + (" (the rest lies on the padding)" if min(c, b) < 1 - 1e-6 else "")
            + ", so here the kernels differ only in how they average the features."
        )
    others = ", ".join(_class_name(v, class_names) for v in classes if v != cmp.own_label)
    text = (
        f"Its {k}×{k} window crosses a boundary of the predicted segmentation ({own} and "
        f"{others}): CARAFE puts {c:.2f} of its weight on taps of the pixel's own class, {own}, "
        f"bilinear {b:.2f}"
    )
    if c > b + CLEAR:
        return text + ", so CARAFE keeps more of its weight on its own object."
    if c < b - CLEAR:
        return text + ", so CARAFE takes more from the other side of the boundary than bilinear."
    return text + ", about the same share."


def softmax_sentence(e: PixelExplanation) -> str:
    """How the softmax turns the largest logits into the kernel's peak (peaked or diffuse)."""
    logits = np.sort(e.kernel_logits.ravel())[::-1]
    weights = np.sort(e.kernel.ravel())[::-1]
    k2 = logits.size
    uniform = 1.0 / k2
    gap = float(logits[0] - logits[1])
    text = (
        f"The largest of the {k2} logits, {logits[0]:.2f}, is {gap:.2f} above the next; the "
        f"softmax makes their weights {weights[0]:.3f} and {weights[1]:.3f}, a ratio of "
        f"e^{gap:.2f} = {np.exp(gap):.2f}. "
    )
    if weights[0] > PEAKED * uniform:
        return text + (
            f"The peak is {weights[0] / uniform:.1f}× a uniform kernel's {uniform:.3f}: a "
            "peaked kernel."
        )
    return text + (
        f"The peak stays near a uniform kernel's {uniform:.3f}: the logits lie close together, "
        "so the kernel is diffuse."
    )


def reassembly_sentence(e: PixelExplanation) -> str:
    """Where the output value lies between the window's lowest and highest input values, for
    CARAFE and for bilinear."""
    values = e.window[~e.outside_image]
    head = f"In channel {e.channel}, Σ w·x = {e.value_op:.3f}"
    if values.size == 0 or float(values.max() - values.min()) < 1e-9:
        return head + (
            ": the window holds one value in this channel, so every kernel whose weights sum "
            "to 1 gives it."
        )
    lo, hi = float(values.min()), float(values.max())
    frac = (e.value_op - lo) / (hi - lo)
    text = (
        f"{head}, {frac:.0%} of the way from the window's lowest value ({lo:.3f}) to its "
        f"highest ({hi:.3f})"
    )
    if e.padding_weight > 0.01:
        text += f"; {e.padding_weight:.2f} of the weight reads zero padding"
    if e.bilinear_value is None:
        return text + "."
    fb = (e.bilinear_value - lo) / (hi - lo)
    text += f". Bilinear gives {e.bilinear_value:.3f} ({fb:.0%} of the way)"
    if frac > fb + 0.1:
        return text + ": CARAFE takes more from the window's high values than bilinear."
    if frac < fb - 0.1:
        return text + ": CARAFE takes more from the window's low values than bilinear."
    return text + ": CARAFE lands about where bilinear does."


def pixel_sentence(
    key: str,
    step: StepAnalysis,
    y: int,
    x: int,
    *,
    segmentation=None,
    class_names=None,
    channel: int | None = None,
    group: int = 0,
) -> str:
    """The computed sentence of tour step ``key`` for output pixel (y, x) of ``step`` (the
    Sandbox step's sentence is :func:`sandbox_sentence`, from the Sandbox's own data)."""
    if step.carafe is None:
        return (
            f"This checkpoint upsamples with {step.kind} at this step, so there is no kernel "
            "to follow: pick a CARAFE step in the sidebar."
        )
    ch = int(step.channel_order[0]) if channel is None else int(channel)
    if key == "edge":
        return edge_sentence(compare_pixel(step, y, x, ch, segmentation, group), class_names)
    if key == "softmax":
        return softmax_sentence(explain_pixel(step, y, x, ch))
    if key == "reassembly":
        return reassembly_sentence(explain_pixel(step, y, x, ch))
    return kernel_sentence(kernel_view(step, y, x, group))


# --- the Sandbox step ----------------------------------------------------------------------


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


def sandbox_sentence(prof: Profile, line: SandboxLine | None = None) -> str:
    """CARAFE's steepest change along the Sandbox's line against bilinear's."""
    where = ""
    if line is not None and abs(line.scale - 1.0) > 1e-9:
        where = (
            f"The Sandbox runs the model on a {line.hw[0]}×{line.hw[1]} copy of your image "
            f"(×{line.scale:.2f}), so its kernels are not the full-size image's; the line is "
            f"centred on your pixel's point ({line.cy}, {line.cx}) there. "
        )
    elif line is not None:
        where = (
            f"The Sandbox runs the model on your image at its own size ({line.hw[0]}×"
            f"{line.hw[1]}), so its kernels are the ones you saw; the line is centred on your "
            f"pixel's point ({line.cy}, {line.cx}). "
        )
    if len(prof.pixels) < 2:
        return where + "The line crosses fewer than two output pixels, so it shows no step."
    c, b = prof.steepest.get("carafe", 0.0), prof.steepest.get("bilinear", 0.0)
    text = (
        f"{where}Along the line ({len(prof.pixels)} output pixels) CARAFE's largest change "
        f"between neighbouring pixels is {c:.3f} against bilinear's {b:.3f} (input map: "
        f"{prof.input_steepest:.3f})"
    )
    if prof.input_steepest < 1e-3:
        return text + ": the input map is flat along this line, there is no step to keep."
    if c > STEEPER * b:
        return text + f": CARAFE keeps the step {c / b:.1f}× as steep as bilinear."
    return text + ": CARAFE is not clearly steeper than bilinear here."


# --- pins ----------------------------------------------------------------------------------


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


def pin_choice_sentence(c: PinChoice) -> str:
    """Which two pixels were pinned and why."""
    edge = (
        f"Pinned the edge pixel ({c.edge[0]}, {c.edge[1]}), the kernel that leans most among "
        "windows inside the image (at a predicted boundary where there is one), and "
    )
    if c.flat_is_flat:
        return edge + (
            f"the flat pixel ({c.flat[0]}, {c.flat[1]}): of the {c.flat_pixels} output pixels "
            f"whose window lies on one colour (± {c.tolerance} of 255), the one whose kernel "
            "leans least."
        )
    spread = (
        "" if np.isnan(c.spread) else f": its window's colours still span {c.spread:.0f} of 255"
    )
    return edge + (
        f"the least edgy pixel ({c.flat[0]}, {c.flat[1]}) instead of a flat one: no window "
        f"lies on one colour (± {c.tolerance} of 255) at this step{spread}."
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


def pins_sentence(a: PinView, b: PinView) -> str:
    """Which of two pinned kernels is more peaked and which leans, with their padding."""
    va, vb = a.view, b.view
    if abs(va.peak - vb.peak) < 0.02:
        parts = [
            f"The two kernels are about as peaked (peak {va.peak:.2f} and {vb.peak:.2f}, "
            f"entropy {va.entropy:.2f} and {vb.entropy:.2f} nats)"
        ]
    else:
        hi, lo = (a, b) if va.peak > vb.peak else (b, a)
        parts = [
            f"{hi.name}'s kernel is more peaked than {lo.name}'s: peak {hi.view.peak:.2f} "
            f"against {lo.view.peak:.2f}, entropy {hi.view.entropy:.2f} against "
            f"{lo.view.entropy:.2f} nats"
            + (
                " (by entropy, though, it is the more spread of the two)"
                if hi.view.entropy > lo.view.entropy
                else ""
            )
        ]
    la, lb = float(np.hypot(*va.lean)), float(np.hypot(*vb.lean))
    if max(la, lb) < CENTRED:
        parts.append("both are centred (their centre of mass within a quarter tap)")
    else:
        more, less = (a, b) if la >= lb else (b, a)
        lm, ll = max(la, lb), min(la, lb)
        parts.append(
            f"{more.name} leans {lm:.2f} taps {_direction(*more.view.lean)}, {less.name} "
            + (f"{ll:.2f} (centred)" if ll < CENTRED else f"{ll:.2f} {_direction(*less.view.lean)}")
        )
    text = "; ".join(parts) + "."
    for p in (a, b):
        if p.view.padding_weight > 0.01:
            text += f" {p.name} puts {p.view.padding_weight:.2f} of its weight on zero padding."
    return text
