"""What the loaded model's kernels do in two kinds of place, as numbers and as sentences worded
from those numbers: along the image border (how much weight falls on zero padding, which way
the kernels lean, how the output fades there, and the what-if with that weight given back) and
in flat regions (how peaked the kernels are and where their peak sits).

The sentences are the only wording the app uses for these facts, so they hold for whatever
image and checkpoint are loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from carafe.inspect.kernel_compare import bilinear_kernels
from carafe.inspect.pixel import FLAT_TOLERANCE, flat_mask, padding_weight_map
from carafe.inspect.records import StepAnalysis
from carafe.ops import carafe
from carafe.ops.geometry import taps_inside_map

__all__ = [
    "BorderHabit",
    "BorderProfile",
    "FlatHabit",
    "border_habit",
    "border_profile",
    "border_sentence",
    "entropy_sentence",
    "flat_habit",
    "flat_sentence",
    "renormalised_output",
    "roughness",
    "what_if_sentence",
]

MOST = 0.5  # "most of the weight": more than half
LITTLE = 0.1  # "little weight": under a tenth
ABOUT = 0.1  # two ratios within 10 % of each other are "about" the same level
FADES = 0.9  # the ring's output "fades" when it keeps under this share of the inside's
ROUGHER = 1.2  # one output is "rougher" than another from this ratio on (as the Sandbox says)
SAME_ENTROPY = 0.1  # nats: entropies this close are "about" equally spread


@dataclass(frozen=True)
class BorderHabit:
    """Kernels of the outermost ring of output pixels that cover the image (one group).

    padding_median: median kernel weight on taps outside the image (zero padding or the area
    the model padded). outward_share: share of ring kernels whose centre of mass leans out of
    the image. *_ring_ratio: mean |output| over the channels on the ring divided by the same on
    the rest of the visible map, for CARAFE, bilinear (same input) and CARAFE's what-if with
    the padding weight given back to the taps inside the image.
    """

    pixels: int
    padding_median: float
    outward_share: float
    ring_ratio: float
    bilinear_ring_ratio: float | None
    renormalised_ring_ratio: float


def _ring(hw: tuple[int, int]) -> np.ndarray:
    ring = np.zeros(hw, bool)
    ring[[0, -1], :] = True
    ring[:, [0, -1]] = True
    return ring


def _ring_ratio(output: np.ndarray, ring: np.ndarray) -> float:
    magnitude = np.abs(output.astype(np.float64)).mean(axis=0)
    return float(magnitude[ring].mean() / max(magnitude[~ring].mean(), 1e-12))


def renormalised_output(step: StepAnalysis, group: int | None = None) -> np.ndarray:
    """(C, h, w): what CARAFE would output if every kernel gave its weight on taps outside the
    image back to its taps inside (renormalised), computed with the real op."""
    d = step.carafe
    geo = step.geometry
    k, g = geo.k, geo.G
    oh, ow = d.kernels.shape[-2:]
    inside = taps_inside_map(k, geo.s, *geo.visible_input_hw(), out_hw=(oh, ow))
    kernels = d.kernels.reshape(g, k * k, oh, ow).astype(np.float64) * inside
    total = kernels.sum(axis=1, keepdims=True)
    # past the image a whole window can lie outside it: those (unshown) kernels stay zero
    kernels = np.divide(kernels, total, out=np.zeros_like(kernels), where=total > 0)
    masks = np.zeros((g * k * k, geo.H * geo.s, geo.W * geo.s))
    masks[:, :oh, :ow] = kernels.reshape(g * k * k, oh, ow)
    with torch.no_grad():
        out = carafe(
            torch.from_numpy(step.input.astype(np.float64))[None],
            torch.from_numpy(masks)[None],
            k,
            g,
            geo.s,
        )
    return out[0, :, :oh, :ow].numpy().astype(np.float32)


def border_habit(step: StepAnalysis, group: int = 0) -> BorderHabit | None:
    """The border measures of ``step`` (None for steps without CARAFE kernels)."""
    d = step.carafe
    if d is None:
        return None
    oh, ow = step.visible_output_hw()
    ring = _ring((oh, ow))
    padding = padding_weight_map(step, group)[:oh, :ow][ring]
    normal = np.zeros((oh, ow, 2))
    normal[0, :, 0], normal[-1, :, 0] = -1, 1  # out of the top / bottom edge
    normal[:, 0, 1] -= 1
    normal[:, -1, 1] += 1
    lean = np.stack([d.com_dy[group, :oh, :ow], d.com_dx[group, :oh, :ow]], axis=-1)
    outward = (lean * normal).sum(-1)[ring] > 0
    bilinear = step.outputs.get("bilinear")
    return BorderHabit(
        pixels=int(ring.sum()),
        padding_median=float(np.median(padding)),
        outward_share=float(outward.mean()),
        ring_ratio=_ring_ratio(step.output[:, :oh, :ow], ring),
        bilinear_ring_ratio=None if bilinear is None else _ring_ratio(bilinear[:, :oh, :ow], ring),
        renormalised_ring_ratio=_ring_ratio(renormalised_output(step)[:, :oh, :ow], ring),
    )


def border_sentence(h: BorderHabit) -> str:
    """What the ring's kernels do, worded from ``h``."""
    if h.padding_median > MOST:
        weight = f"put most of their weight on zero padding outside the image (median {h.padding_median:.2f})"
    elif h.padding_median < LITTLE:
        weight = f"keep their weight on the image (median {h.padding_median:.2f} on the padding)"
    else:
        weight = f"put a median {h.padding_median:.2f} of their weight on the padding"
    if h.outward_share >= 0.5:
        lean = f"{h.outward_share:.0%} of them lean outward, towards the padding"
    else:
        lean = f"{1 - h.outward_share:.0%} of them lean inward, away from the padding"
    text = (
        f"On the border ring ({h.pixels} output pixels: the outermost rows and columns) this "
        f"model's kernels {weight}, and {lean}. "
    )
    fade = f"its output on the ring has {h.ring_ratio:.2f} of the magnitude it has inside"
    b = h.bilinear_ring_ratio
    if b is None:
        return text + f"{fade[0].upper()}{fade[1:]}."
    if abs(h.ring_ratio - b) <= ABOUT * b:
        return text + f"Its output keeps about bilinear's level there: {fade}, bilinear {b:.2f}."
    if h.ring_ratio > b:
        return text + f"Its output there is stronger than bilinear's: {fade}, bilinear {b:.2f}."
    if h.ring_ratio < FADES:
        return text + (
            f"CARAFE's output fades toward zero along the border: {fade}, against {b:.2f} for "
            "bilinear interpolation, which repeats the border value."
        )
    return text + f"Its output there is weaker than bilinear's: {fade}, bilinear {b:.2f}."


def what_if_sentence(h: BorderHabit) -> str:
    """What giving the padding weight back changes on the ring, worded from ``h``."""
    before, after = h.ring_ratio, h.renormalised_ring_ratio
    if abs(after - before) < 0.05:
        return (
            f"Giving the padding weight back changes little here: the ring keeps {after:.2f} of "
            f"the inside's magnitude (CARAFE as trained: {before:.2f})."
        )
    direction = "instead of" if after > before else "down from"
    text = (
        f"With the padding weight given back, the ring's output keeps {after:.2f} of the "
        f"inside's magnitude {direction} {before:.2f}"
    )
    if h.bilinear_ring_ratio is not None:
        text += f" (bilinear: {h.bilinear_ring_ratio:.2f})"
    if after > before:
        text += ", so the weight on the padding lowers the ring's output"
    return text + "."


@dataclass(frozen=True)
class BorderProfile:
    """One output row across the image, left border to right border: each method's value of
    one channel at every visible column."""

    row: int
    channel: int
    columns: np.ndarray
    values: dict[str, np.ndarray]  # "carafe", "renormalised" and the baselines available


def border_profile(step: StepAnalysis, row: int, channel: int) -> BorderProfile:
    """The profile of ``channel`` along output row ``row``, for CARAFE, its what-if with the
    padding weight given back, and bilinear and nearest on the same input."""
    oh, ow = step.visible_output_hw()
    row = int(min(max(row, 0), oh - 1))
    values = {"carafe": step.output[channel, row, :ow]}
    values["renormalised"] = renormalised_output(step)[channel, row, :ow]
    for kind in ("bilinear", "nearest"):
        if kind in step.outputs:
            values[kind] = step.outputs[kind][channel, row, :ow]
    return BorderProfile(row, int(channel), np.arange(ow), values)


@dataclass(frozen=True)
class FlatHabit:
    """Kernels of the output pixels whose input window lies on one colour (± ``tolerance``).

    peak_median: median largest tap weight (``uniform`` = 1/k² for a flat kernel);
    centre_median: median weight on the centre tap; far_peak_share: share whose largest tap
    lies two or more taps from the centre. roughness / bilinear_roughness: mean |second
    difference| of CARAFE's / bilinear's output along rows and columns over those pixels (all
    channels; the Sandbox's measure): 0 for a flat or linear output, large for a texture.
    """

    pixels: int
    tolerance: int
    uniform: float
    peak_median: float
    centre_median: float
    far_peak_share: float
    roughness: float = 0.0
    bilinear_roughness: float | None = None


def roughness(output: np.ndarray, where: np.ndarray) -> float:
    """Mean |second difference| of ``output`` (C, h, w) along rows and columns, over the runs
    of three pixels that all lie in ``where`` (h, w); 0 where there is none."""
    values = output.astype(np.float64)
    total, count = 0.0, 0
    for v, m in ((values, where), (values.swapaxes(1, 2), where.T)):
        d2 = np.abs(v[:, :, :-2] - 2 * v[:, :, 1:-1] + v[:, :, 2:])
        inside = m[:, :-2] & m[:, 1:-1] & m[:, 2:]
        total += float(d2[:, inside].sum())
        count += int(inside.sum()) * v.shape[0]
    return total / count if count else 0.0


def flat_habit(step: StepAnalysis, image: np.ndarray, group: int = 0) -> FlatHabit | None:
    """The flat-region measures of ``step`` on ``image`` (None without kernels or flat pixels)."""
    d = step.carafe
    if d is None:
        return None
    geo = step.geometry
    k, s = geo.k, geo.s
    oh, ow = step.visible_output_hw()
    flat_in = flat_mask(step, image)
    flat_out = np.repeat(np.repeat(flat_in, s, axis=0), s, axis=1)[:oh, :ow]
    if not flat_out.any():
        return None
    kernels = d.kernels[group * k * k : (group + 1) * k * k, :oh, :ow][:, flat_out]  # (k², n)
    peak_tap = kernels.argmax(axis=0)
    r = (k - 1) // 2
    far = np.maximum(np.abs(peak_tap // k - r), np.abs(peak_tap % k - r)) >= 2
    bilinear = step.outputs.get("bilinear")
    return FlatHabit(
        pixels=int(flat_out.sum()),
        tolerance=FLAT_TOLERANCE,
        uniform=1.0 / (k * k),
        peak_median=float(np.median(kernels.max(axis=0))),
        centre_median=float(np.median(kernels[r * k + r])),
        far_peak_share=float(far.mean()),
        roughness=roughness(step.output[:, :oh, :ow], flat_out),
        bilinear_roughness=None if bilinear is None else roughness(bilinear[:, :oh, :ow], flat_out),
    )


def flat_sentence(h: FlatHabit | None) -> str:
    """What the kernels do where the window is one colour, worded from ``h``."""
    if h is None:
        return (
            "This image has no flat region at this step (no k×k window on one colour), so there "
            "is nothing to say about flat-region kernels here."
        )
    shape = (
        f"are not diffuse: their median peak is {h.peak_median:.2f} (a uniform kernel's is "
        f"{h.uniform:.2f})"
        if h.peak_median > 2 * h.uniform
        else f"stay diffuse: their median peak is {h.peak_median:.2f}, near a uniform kernel's "
        f"{h.uniform:.2f}"
    )
    text = (
        f"In the {h.pixels} output pixels whose window lies on one colour (± {h.tolerance}) the "
        f"kernels {shape}; the centre tap holds a median {h.centre_median:.1%}, and in "
        f"{h.far_peak_share:.0%} of them the largest tap sits two or more taps from the centre. "
    )
    return text + _texture(h.roughness, h.bilinear_roughness)


def _texture(carafe_rough: float, bilinear_rough: float | None) -> str:
    """Whether the kernels leave a texture in flat regions, from the two roughnesses."""
    numbers = f"mean |second difference| {carafe_rough:.3g}"
    if bilinear_rough is None:
        return f"Roughness of CARAFE's output there: {numbers}."
    numbers += f", bilinear {bilinear_rough:.3g}"
    if carafe_rough == 0 and bilinear_rough == 0:
        return (
            "There the features are constant, so it makes no difference which tap carries the "
            f"weight: both outputs are flat ({numbers})."
        )
    if carafe_rough > ROUGHER * bilinear_rough:
        ratio = (
            f"{carafe_rough / bilinear_rough:.1f}× as rough as"
            if bilinear_rough
            else "rougher than"
        )
        return (
            "The features there are not constant, so the weights matter: CARAFE's output is "
            f"{ratio} bilinear's ({numbers}), a grid texture."
        )
    if bilinear_rough > ROUGHER * carafe_rough:
        return f"There CARAFE's output is smoother than bilinear's ({numbers})."
    return f"There CARAFE's output is about as rough as bilinear's ({numbers})."


def entropy_sentence(entropy: np.ndarray, k: int, s: int) -> str:
    """How spread out the kernels are (``entropy``: their entropies in nats, any shape), on
    the real scale from 0 to log(k²) and against bilinear's ×``s`` kernels on the same window."""
    top = float(np.log(k * k))
    median = float(np.median(entropy))
    text = (
        f"Entropy runs from 0 (all weight on one tap) to log({k * k}) = {top:.2f} nats (uniform); "
        f"the median kernel here has {median:.2f}"
    )
    try:
        bil = bilinear_kernels(k, s).reshape(s * s, k * k)
    except ValueError:  # a window too small for bilinear's taps
        return text + "."
    logs = np.log(np.where(bil > 0, bil, 1.0))
    bilinear = float(-(bil * logs).sum(axis=1).mean())
    if abs(median - bilinear) <= SAME_ENTROPY:
        how = "about as spread out as"
    elif median > bilinear:
        how = "more spread out than"
    else:
        how = "more concentrated than"
    wider = float((entropy > bilinear).mean())
    return text + (
        f", {how} bilinear's ×{s} kernels ({bilinear:.2f} nats); {wider:.0%} of the kernels are "
        "more spread out than bilinear's."
    )
