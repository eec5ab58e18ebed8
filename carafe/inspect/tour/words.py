"""The sentences the guided tour's banner shows, each worded from the analysis it describes.

Every sentence here states a fact about the data, so each is computed from the numbers it
quotes and says the opposite where the numbers say the opposite. No Streamlit, no drawing.
"""

from __future__ import annotations

import numpy as np

from carafe.inspect.explain import PixelExplanation, explain_pixel
from carafe.inspect.kernel_compare import PixelComparison, compare_pixel
from carafe.inspect.pins.words import CENTRED, lean_direction
from carafe.inspect.pixel import PADDING_NOTE, KernelView, kernel_view
from carafe.inspect.records import StepAnalysis
from carafe.inspect.sandbox.profile import Profile
from carafe.inspect.sandbox.words import FLAT_LINE, STEEPER
from carafe.inspect.tour.sandbox_line import SandboxLine

__all__ = [
    "CLEAR",
    "PEAKED",
    "SAME_PLACE",
    "edge_sentence",
    "kernel_sentence",
    "pixel_sentence",
    "reassembly_sentence",
    "sandbox_sentence",
    "softmax_sentence",
]

CLEAR = 0.05  # two shares closer than this are "about the same"
PEAKED = 2.0  # a peak this many times a uniform kernel's weight makes a peaked kernel
SAME_PLACE = 0.1  # outputs closer than this (share of the window's range) land "about" alike


def _peak_words(kernel: np.ndarray, peak: float) -> str:
    """'Its heaviest tap holds 0.42; its 2 heaviest taps hold half of the weight.'"""
    heaviest = np.sort(kernel.ravel())[::-1].cumsum()
    n = int(np.searchsorted(heaviest, 0.5 * heaviest[-1]) + 1)
    half = "" if n == 1 else f"; its {n} heaviest taps hold half of the weight"
    return f"Its heaviest tap holds {peak:.2f}{half}."


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
            f"{head} leans {np.hypot(dy, dx):.2f} taps {lean_direction(dy, dx)}: it puts "
            f"{near.sum():.2f} of its weight on the {near.size} taps {side}, against "
            f"{far.sum():.2f} on the other side. {peak}"
        )
    if v.padding_weight > PADDING_NOTE:
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
    if e.padding_weight > PADDING_NOTE:
        text += f"; {e.padding_weight:.2f} of the weight reads zero padding"
    if e.bilinear_value is None:
        return text + "."
    fb = (e.bilinear_value - lo) / (hi - lo)
    text += f". Bilinear gives {e.bilinear_value:.3f} ({fb:.0%} of the way)"
    if frac > fb + SAME_PLACE:
        return text + ": CARAFE takes more from the window's high values than bilinear."
    if frac < fb - SAME_PLACE:
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
    if prof.input_steepest < FLAT_LINE:
        return text + ": the input map is flat along this line, there is no step to keep."
    if c > STEEPER * b:
        # Steeper alone is not a kept step (CARAFE's output also varies where the input is
        # flat): the Sandbox page checks the kernels too, so the tour does not claim it.
        return text + (
            f": CARAFE's change is {c / b:.1f}× as steep as bilinear's; whether its kernels "
            "follow the edge (a kept step) is what the Sandbox's kernels tab shows."
        )
    return text + ": CARAFE is not clearly steeper than bilinear here."
