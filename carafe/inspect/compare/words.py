"""The Compare page's sentences, each worded from the numbers it quotes: where CARAFE − baseline
differences lie (:mod:`carafe.inspect.compare.differences`), how the DySample twin's input
differs, the twins' heading and the note on undefined shares. Plain numpy, no drawing.
"""

from __future__ import annotations

import numpy as np

from carafe.inspect.compare.differences import (
    BORDER,
    EDGES,
    REGIONS,
    DifferenceSplit,
    RegionShare,
)

__all__ = [
    "CONCENTRATED",
    "split_sentence",
    "twin_input_sentence",
    "twins_heading",
    "undefined_share_note",
]

#: A region "concentrates" the differences when its energy share is at least this many times
#: its area share (1 = no more than its size would give it).
CONCENTRATED = 1.25


_WHERE = {
    "border frame": "in the border frame",
    "object edges": "at object edges",
    "elsewhere": "elsewhere",
}
_WHAT = {  # what each region is, for the reader (k: the window size)
    "border frame": "pixels whose {k}×{k} window reaches past the image",
    "object edges": "window holds two predicted classes",
    "elsewhere": "",
}
_EMPTY = {  # said when a region has no pixel
    "border frame": "no window reaches past the image",
    "object edges": "no window holds two predicted classes",
    "elsewhere": "no other pixel",
}


def _part(r: RegionShare, k: int) -> str:
    what = _WHAT[r.name].format(k=k)
    if r.pixels == 0:
        return f"none {_WHERE[r.name]} ({_EMPTY[r.name]})"
    area = f"{what}: {r.area_share:.0%} of the pixels" if what else f"{r.area_share:.0%}"
    return f"{r.energy_share:.0%} {_WHERE[r.name]} ({area})"


def split_sentence(
    split: DifferenceSplit,
    what: str,
    padding_weight: float | None = None,
    segmentation: bool = True,
) -> str:
    """Say where the difference energy of ``what`` (e.g. "channel 5, all four panels") lies.

    Names every region's energy share and area share, then which regions concentrate the
    differences (energy share ≥ :data:`CONCENTRATED` × area share), most concentrated first.
    ``padding_weight`` (:func:`border_padding_weight`), when given and the border frame
    concentrates the differences, explains why. ``segmentation=False``: the model has no
    segmentation, so object edges are unknown (said instead of "no pixels").
    """
    if not split.energy > 0:
        return f"No difference at all in {what}: the maps are equal."
    k = split.kernel_size
    parts = [_part(r, k) for r in split.regions]
    if not segmentation:
        parts[EDGES] = "object edges unknown (this model has no segmentation)"
    text = f"Of the squared differences in {what}, {parts[0]}, {parts[1]} and {parts[2]}."
    dense = sorted(
        (r for r in split.regions if r.pixels and r.concentration >= CONCENTRATED),
        key=lambda r: -r.concentration,
    )
    names = {r.name for r in dense}
    if not dense:
        text += " They are spread about evenly: no region holds clearly more than its share."
    else:
        text += " They concentrate " + " and ".join(
            f"{_WHERE[r.name]} ({r.concentration:.1f}× its share of the pixels)" for r in dense
        )
        if segmentation and split.regions[EDGES].pixels and REGIONS[EDGES] not in names:
            text += ", not at object edges"
        text += "."
    if padding_weight is not None and REGIONS[BORDER] in names:
        text += (
            f" There CARAFE's kernels put {padding_weight:.0%} of their weight (mean) on taps "
            "outside the image, which read zeros: its output fades toward zero at the border."
        )
    return text


def twin_input_sentence(name: str, carafe_input: np.ndarray, twin_input: np.ndarray) -> str:
    """Say how the twin's input to this step compares with CARAFE's (RMS of the difference)."""
    if carafe_input.shape != twin_input.shape:
        return (
            f"The {name} twin's input map to this step has another shape "
            f"({twin_input.shape[1]}×{twin_input.shape[2]}, CARAFE's "
            f"{carafe_input.shape[1]}×{carafe_input.shape[2]}): compare outputs, not kernels."
        )
    diff = float(np.sqrt(np.mean((carafe_input.astype(np.float64) - twin_input) ** 2)))
    scale = float(np.sqrt(np.mean(carafe_input.astype(np.float64) ** 2)))
    if diff == 0:
        return (
            f"The {name} twin's input map to this step equals CARAFE's: the panels differ "
            "only by the upsampler."
        )
    return (
        f"The {name} twin is a separately trained model (its own backbone and FPN): its input "
        f"map to this step differs from CARAFE's (RMS difference {diff:.3g}; CARAFE's input "
        f"has RMS {scale:.3g}), and its channels are its own. So compare the outputs, not "
        "kernels: a difference mixes the two upsamplers with the two models' features."
    )


def twins_heading(model: str, twins: list[str]) -> str:
    """The segmentation heading, naming the twins actually shown ("A vs its B and C twins")."""
    if not twins:
        return f"Segmentation: {model} model"
    names = twins[0] if len(twins) == 1 else ", ".join(twins[:-1]) + f" and {twins[-1]}"
    return f"Segmentation: {model} model vs its {names} twin" + ("s" if len(twins) > 1 else "")


def undefined_share_note(rows: list[dict], value: str, label: str) -> str:
    """Why ``value`` is missing (None) in some rows of the kernel-alignment table.

    The off-centre share is own-object weight off the centre tap ÷ all weight off the centre
    tap; a kernel that puts no weight off the centre tap (nearest) makes it 0/0. Returns ""
    when every row has a value.
    """
    missing = list(dict.fromkeys(r[label] for r in rows if r.get(value) is None))
    if not missing:
        return ""
    names = "; ".join(missing)
    return (
        f"'{value}' is not defined for {names}: that kernel puts no weight off the centre tap, "
        "so the share of its off-centre weight on the own object is 0/0."
    )
