"""One output pixel's kernel from every kernel upsampler at once (CARAFE, FADE, SAPA, ...), and
what differs between them, worded from the numbers. No drawing.

Each kind's kernel comes from its own model's analysis of the same image (the twins are the
same network trained the same way with another upsampler), at the same FPN step and output
pixel, so the kernels cover the same k×k window of their own input maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carafe.inspect.catalog import display_name
from carafe.inspect.pixel import kernel_view
from carafe.inspect.records import StepAnalysis

__all__ = [
    "FamilyKernel",
    "family_kernel",
    "family_sentence",
    "guide_energy",
    "predictor_sentence",
]

_PEAK_RATIO = 1.15  # peaks within ±15 % read as "about as peaked"
_ENTROPY_NATS = 0.15  # entropies within 0.15 nats read as "about as spread"
_SHARE_POINTS = 0.03  # own shares within 0.03 read as "about the same"


@dataclass(frozen=True)
class FamilyKernel:
    """One kind's kernel at one output pixel (group 0).

    kernel: (k, k) weights; peak: the largest; entropy: in nats (0 = one tap, log k² = flat);
    own_share: the weight on the pixel's own object or region when its window straddles two
    (None otherwise); guided: whether the kind read the fine guide map.
    """

    kind: str
    name: str
    kernel: np.ndarray
    peak: float
    entropy: float
    own_share: float | None
    guided: bool


def family_kernel(
    step: StepAnalysis, y: int, x: int, own_share: float | None = None
) -> FamilyKernel | None:
    """``step``'s kernel at output pixel (y, x), or None when the step has no kernels or the
    pixel lies outside its output map."""
    if step.details is None:
        return None
    oh, ow = step.output_shape
    if not (0 <= y < oh and 0 <= x < ow):
        return None
    view = kernel_view(step, y, x, 0)
    return FamilyKernel(
        kind=step.kind,
        name=display_name(step.kind),
        kernel=view.kernel,
        peak=view.peak,
        entropy=view.entropy,
        own_share=own_share,
        guided=step.guide is not None,
    )


def family_sentence(ref: FamilyKernel, other: FamilyKernel, what: str = "region") -> str:
    """How ``other``'s kernel differs from ``ref``'s at the same pixel, every word from the
    numbers: peak, spread (entropy) and, where both are known, own-``what`` share."""
    if max(other.peak, ref.peak) <= _PEAK_RATIO * min(other.peak, ref.peak):
        peak = f"about as peaked as {ref.name}'s"
    else:
        peak = ("more peaked than " if other.peak > ref.peak else "flatter than ") + f"{ref.name}'s"
    if abs(other.entropy - ref.entropy) <= _ENTROPY_NATS:
        spread = "about as spread"
    else:
        spread = "spread wider" if other.entropy > ref.entropy else "more concentrated"
    text = (
        f"{other.name}'s kernel is {peak} (peak {other.peak:.2f} vs {ref.peak:.2f}) and "
        f"{spread} (entropy {other.entropy:.2f} vs {ref.entropy:.2f} nats)"
    )
    if other.own_share is not None and ref.own_share is not None:
        diff = other.own_share - ref.own_share
        verdict = "about the same" if abs(diff) <= _SHARE_POINTS else "more" if diff > 0 else "less"
        text += (
            f"; it puts {other.own_share:.2f} of its weight on the pixel's own {what} "
            f"({ref.name} {ref.own_share:.2f}: {verdict})"
        )
    return text + "."


def guide_energy(step: StepAnalysis) -> np.ndarray | None:
    """(h', w') root-mean-square over channels of the fine guide a guided step read (what its
    kernels could see that the coarse input had lost), or None."""
    if step.guide is None:
        return None
    return np.sqrt((step.guide.astype(np.float64) ** 2).mean(axis=0)).astype(np.float32)


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def predictor_sentence(kernels: list[FamilyKernel], what: str = "region") -> str:
    """What each shown kind's kernel predictor reads (the coarse map alone, or the fine guide
    too) and which of them puts the most weight on the pixel's own ``what``, from the kernels'
    own numbers."""
    blind = [k.name for k in kernels if not k.guided]
    guided = [k.name for k in kernels if k.guided]
    parts = []
    if blind:
        verb = "predicts its kernel" if len(blind) == 1 else "predict their kernels"
        parts.append(f"{_names(blind)} {verb} from the coarse map alone")
    if guided:
        verb = "reads" if len(guided) == 1 else "read"
        parts.append(f"{_names(guided)} also {verb} the fine map (the guide)")
    text = "; ".join(parts) + "."
    known = [k for k in kernels if k.own_share is not None]
    if len(known) >= 2:
        best = max(known, key=lambda k: k.own_share)
        rest = [k for k in known if k is not best]
        if all(best.own_share - k.own_share <= _SHARE_POINTS for k in rest):
            text += (
                f" Here they put about the same weight on the pixel's own {what} "
                f"({', '.join(f'{k.name} {k.own_share:.2f}' for k in known)})."
            )
        else:
            reads = "reads the fine map" if best.guided else "reads the coarse map alone"
            text += (
                f" Here {best.name}, which {reads}, puts the most weight on the pixel's own "
                f"{what}: {best.own_share:.2f} ("
                + ", ".join(f"{k.name} {k.own_share:.2f}" for k in rest)
                + ")."
            )
    return text
