"""The sentences of "Train a tiny CARAFE": each words one fact from the numbers of a run
(:mod:`carafe.inspect.train_tiny.view`), so the page never states a fact the data do not hold.
No Streamlit and no plotting here.
"""

from __future__ import annotations

import numpy as np

from carafe.inspect.habits import MOST
from carafe.inspect.train_tiny.pixels import MATCH_TOLERANCE, EdgeGroup, EdgeSummary, PixelKernels

__all__ = [
    "LEVEL",
    "SAME_KERNEL",
    "WORK_RATIO",
    "block_sentence",
    "compressor_sentence",
    "idle_sentence",
    "edge_sentence",
    "edge_summary_sentence",
    "flat_sentence",
    "groups_sentence",
    "loss_sentence",
    "reach_sentence",
    "work_sentence",
]

#: Kernels differing by less than this share of their weight count as "nearly the same".
SAME_KERNEL = 0.05
#: A knob set costs "about the same work" as the default within this factor either way.
WORK_RATIO = 1.5
#: Two final held-out losses within this share of each other end "level": a tie, not a win.
LEVEL = 0.005


def loss_sentence(final: dict[str, float], names: dict[str, str]) -> str:
    """Whether CARAFE ends with a lower held-out loss than each other upsampler, with numbers:
    lower, level (within :data:`LEVEL` of the other's loss: a tie, not a win) or higher."""
    c = final["carafe"]
    others = [k for k in final if k != "carafe"]

    def change(k: str) -> float:
        return (final[k] - c) / final[k] if final[k] else 0.0

    below = [k for k in others if change(k) >= LEVEL]
    level = [k for k in others if abs(change(k)) < LEVEL]
    above = [k for k in others if change(k) <= -LEVEL]

    def vs(k: str) -> str:
        word = "lower" if change(k) >= 0 else "higher"
        return f"{names[k]} ({final[k]:.5f}; CARAFE is {abs(change(k)):.0%} {word})"

    parts = []
    if below:
        parts.append(
            f"CARAFE ends with a lower held-out loss ({c:.5f}) than "
            + " and ".join(vs(k) for k in below)
            + "."
        )
    if level:
        start = "It ends level with " if parts else f"CARAFE ({c:.5f}) ends level with "
        parts.append(
            start
            + " and ".join(f"{names[k]} ({final[k]:.5f})" for k in level)
            + f": within {LEVEL:.1%} of each other, a tie."
        )
    if above:
        start = "It does not end below " if parts else f"CARAFE ({c:.5f}) does not end below "
        parts.append(start + " or ".join(vs(k) for k in above) + ".")
    return " ".join(parts)


def _group_sentence(where: str, group: EdgeGroup) -> str:
    n = group.pixels
    if n == 0:
        return f"No edge pixel of this picture lies {where}."
    if group.bilinear_miss is None:
        return (
            f"{where.capitalize()} ({n} pixels), CARAFE's kernels miss the true colour by "
            f"{group.carafe_miss:.2f} on average; bilinear's taps do not fit a 1×1 window."
        )
    share = group.carafe_closer / n
    numbers = (
        f"at **{group.carafe_closer}** of {n} pixels ({share:.0%}); on average they miss it by "
        f"{group.carafe_miss:.2f}, bilinear's weights by {group.bilinear_miss:.2f}"
    )
    if share > MOST and group.carafe_miss < group.bilinear_miss:
        return (
            f"{where.capitalize()}, CARAFE's kernels come closer to the true colour than "
            f"bilinear's {numbers}."
        )
    return (
        f"{where.capitalize()}, CARAFE's kernels do not clearly beat bilinear's: they come "
        f"closer to the true colour {numbers}."
    )


def edge_summary_sentence(summary: EdgeSummary) -> str:
    """Over the picture's edge pixels, beside and across the edge: how often and how much
    CARAFE's kernels come closer to the true colour than bilinear's weights."""
    return (
        _group_sentence("beside an edge (source pixel of the pixel's own colour)", summary.beside)
        + " "
        + _group_sentence("where the edge crosses the source pixel", summary.across)
    )


def edge_sentence(px: PixelKernels) -> str:
    """Whether the edge kernel's colour comes closer to the pixel's true colour than
    bilinear's weights on the same taps, and its weight on taps of that colour."""
    k = px.kernels.shape[-1]
    y, x = px.pixel
    where = {
        True: " (its source pixel has its own colour: the edge passes beside it)",
        False: " (the edge crosses its source pixel)",
        None: "",
    }[px.beside]
    head = (
        f"At the edge pixel ({y}, {x}){where}, CARAFE's kernel reassembles a colour "
        f"**{px.miss:.2f}** from the pixel's true colour (largest channel difference)"
    )
    if px.n_matching:
        share = f"; it puts {px.weight_on_match:.0%} of its weight on the {px.n_matching} "
        share += "input pixels of that colour"
        if len(px.kernels) > 1:
            share += " (mean over the colour channels, each with its group's kernel)"
        if px.bilinear_on_match is not None:
            share += f" (bilinear {px.bilinear_on_match:.0%})"
    else:
        share = f"; no input pixel of its {k}×{k} window has that colour"
    b = px.bilinear_miss
    if b is None:
        return head + share + f". Bilinear's taps do not fit a {k}×{k} window."
    if px.miss >= b:
        return head + f", bilinear's weights {b:.2f}" + share + ". Here CARAFE does no better."
    verdict = ". CARAFE's colour comes closer to the true colour than bilinear's"
    if px.n_matching and px.bilinear_on_match is not None:
        if px.weight_on_match > px.bilinear_on_match:
            verdict += ": it takes more of its value from the pixel's own side of the edge"
        else:
            verdict += (
                ", though it puts no more weight than bilinear on taps of that colour: it "
                "comes closer by the weight it gives the blended taps"
            )
    return head + f", bilinear's weights **{b:.2f}**" + share + verdict + "."


def flat_sentence(px: PixelKernels) -> str:
    """Whether the flat pixel's window really holds one colour, and what that means."""
    k = px.kernels.shape[-1]
    peak = float(px.kernels.max())
    if px.spread <= MATCH_TOLERANCE:
        return (
            f"In the flat area every tap of the {k}×{k} window reads the same colour (spread "
            f"{px.spread:.3f}), so any kernel gives that colour: the weights (largest "
            f"{peak:.2f}) do not matter here."
        )
    return (
        f"No {k}×{k} window of this picture lies on one colour; the flattest, shown here, "
        f"still spreads by {px.spread:.2f}, so its weights (largest {peak:.2f}) do matter."
    )


def _mean_difference(kernels: np.ndarray) -> float:
    """Mean over pairs of half the L1 distance of (n, k, k) kernels: the share of the weight
    that sits on other taps."""
    flat = kernels.reshape(len(kernels), -1)
    pairs = [
        0.5 * np.abs(flat[i] - flat[j]).sum()
        for i in range(len(flat))
        for j in range(i + 1, len(flat))
    ]
    return float(np.mean(pairs)) if pairs else 0.0


def groups_sentence(kernels: np.ndarray) -> str:
    """Whether the G kernels of one pixel differ. kernels: (G, k, k)."""
    g = len(kernels)
    if g == 1:
        return "One group: all C channels are reassembled with this one kernel."
    d = _mean_difference(kernels)
    if d > SAME_KERNEL:
        return (
            f"The {g} groups learned different kernels for this pixel: on average "
            f"**{d:.0%}** of the weight sits on other taps, so each group of channels is "
            "reassembled its own way."
        )
    return (
        f"The {g} groups' kernels for this pixel are nearly the same (on average {d:.0%} of "
        "the weight sits on other taps): here the groups did not need to differ."
    )


def block_sentence(block: np.ndarray) -> str:
    """Whether the s² kernels one input pixel predicts differ. block: (s, s, G, k, k)."""
    s = block.shape[0]
    d = _mean_difference(block[:, :, 0].reshape(s * s, *block.shape[-2:]))
    if d > SAME_KERNEL:
        return (
            f"One input pixel predicts **{s * s}** kernels, one per output pixel of its {s}×{s} "
            f"block; these differ: on average **{d:.0%}** of the weight sits on other taps."
        )
    return (
        f"One input pixel predicts {s * s} kernels, one per output pixel of its {s}×{s} block; "
        f"here they are nearly the same (on average {d:.0%} of the weight on other taps)."
    )


def work_sentence(flops: int, default_flops: int) -> str:
    """How the work of a training step compares with the default knobs' (see step_flops)."""
    ratio = flops / default_flops
    numbers = f"({flops / 1e6:.1f} vs {default_flops / 1e6:.1f} MFLOPs per picture)"
    if ratio >= WORK_RATIO:
        return (
            f"These knobs cost about **{ratio:.1f}×** the default knobs' work per step "
            f"{numbers}: training takes about that much longer."
        )
    if ratio <= 1 / WORK_RATIO:
        return (
            f"These knobs cost about {1 / ratio:.1f}× less work per step than the default "
            f"knobs {numbers}: training is quicker."
        )
    return f"These knobs cost about the same work per step as the default knobs {numbers}."


def reach_sentence(k: int, s: int) -> str:
    """How far a k×k window reaches on the full-resolution picture."""
    return (
        f"A {k}×{k} kernel reads {k}×{k} input pixels: {k * s}×{k * s} pixels of the "
        f"full-resolution picture, up to {(k - 1) // 2} input pixels from the source pixel."
    )


def idle_sentence(up_kernel: int, carafe_params: int) -> str:
    """What k_up = 1 makes of CARAFE ("" for larger kernels): a 1×1 kernel's softmax is 1, so
    every output pixel copies its source pixel (nearest neighbour) and the kernel prediction's
    parameters change nothing."""
    if up_kernel != 1:
        return ""
    return (
        "With k_up = 1 each kernel has a single tap, and a softmax over one value is 1: every "
        "output pixel copies its source pixel, so CARAFE is nearest-neighbour upsampling here. "
        f"Its {carafe_params:,} parameters (the compressor and the content encoder) still exist "
        "but change nothing in the output, and training cannot move them."
    )


def compressor_sentence(channels: int, compressed: int) -> str:
    """What the channel "compressor" does at these sizes: C channels in, C_m out."""
    if compressed > channels:
        return (
            f"With C_m = {compressed} above the C = {channels} channels the upsampler sees, "
            f'the 1×1 "compressor" widens them ({channels} → {compressed}) instead of '
            "compressing; the paper's narrows 256 → 64."
        )
    if compressed == channels:
        return (
            f'With C_m = C = {channels} the 1×1 "compressor" keeps the channel count '
            f"({channels} → {compressed}): it mixes the channels without compressing them."
        )
    return (
        f"The 1×1 compressor narrows the C = {channels} channels the upsampler sees to "
        f"C_m = {compressed}, as the paper's narrows 256 → 64."
    )
