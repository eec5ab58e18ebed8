"""The Compare page's sentences, each worded from the numbers it quotes: where CARAFE − baseline
differences lie (:mod:`carafe.inspect.compare.differences`) and the page's headline from them,
which panels are untrained, how the DySample twin's input differs, two trained kernel or point
upsamplers side by side from the stored metrics, the twins' heading and the note on undefined
shares. Plain numpy, no drawing.
"""

from __future__ import annotations

import numpy as np

from carafe.inspect.catalog import display_name
from carafe.inspect.compare.differences import (
    BORDER,
    EDGES,
    REGIONS,
    DifferenceSplit,
    RegionShare,
)
from carafe.nn import upsampler_cost

__all__ = [
    "CONCENTRATED",
    "headline_sentence",
    "learned_pair_sentence",
    "panel_title",
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
    "object edges": "window holds two objects or colour regions",
    "elsewhere": "",
}
_EMPTY = {  # said when a region has no pixel
    "border frame": "no window reaches past the image",
    "object edges": "no window holds two objects or colour regions",
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
            f" There CARAFE's kernels put {padding_weight:.0%} of their weight (mean over the "
            "border frame) on taps outside the image, which read zeros. (Explore's border ring, "
            "the outermost output pixels only, quotes a median.)"
        )
    return text


def headline_sentence(split: DifferenceSplit, what: str, segmentation: bool = True) -> str:
    """The page's "what to notice": where the differences of ``what`` lie most densely, and
    whether object edges hold more than their share (from ``split`` alone)."""
    if not split.energy > 0:
        return f"CARAFE's output equals {what} here: no difference anywhere."
    shown = [r for r in split.regions if r.pixels]
    top = max(shown, key=lambda r: r.concentration)
    head = f"CARAFE differs from {what} "
    if top.concentration < CONCENTRATED:
        return head + (
            "about evenly over the map: no region holds clearly more of the squared difference "
            "than its share of the pixels."
        )
    text = head + (
        f"most densely {_WHERE[top.name]}: {top.energy_share:.0%} of the squared difference on "
        f"{top.area_share:.0%} of the pixels."
    )
    edges = split.regions[EDGES]
    if not segmentation or top.name == REGIONS[EDGES]:
        return text
    if edges.pixels == 0:
        return text + " No window holds two objects or colour regions."
    more = "more than" if edges.concentration >= CONCENTRATED else "no more than"
    return text + (
        f" Object edges hold {edges.energy_share:.0%} on {edges.area_share:.0%}: {more} their "
        "share."
    )


def panel_title(kind: str, own_kind: str, channels: int, scale: int = 2) -> str:
    """A panel's title: the kind's display name, with "(untrained)" where the panel shows a
    learned upsampler (one with parameters) at its fixed initialisation, not the model's own."""
    name = display_name(kind)
    if kind == own_kind or upsampler_cost(kind, channels, scale)["params"] == 0:
        return name
    return f"{name} (untrained)"


def _seeds(metrics: dict, kind: str, pick) -> list[float]:
    values = []
    for run in metrics.get("runs", []):
        if run.get("upsampler") == kind:
            try:
                values.append(float(pick(run)))
            except (KeyError, TypeError):
                continue
    return values


def _rank(a: list[float], b: list[float]) -> str:
    """Whether every seed of ``a`` is "above" / "below" every seed of ``b``, or "overlapping"."""
    if a and b and min(a) > max(b):
        return "above"
    if a and b and max(a) < min(b):
        return "below"
    return "overlapping"


def learned_pair_sentence(metrics: dict | None, first: str, second: str) -> str:
    """``first`` against ``second`` (two trained upsampler kinds) from the stored held-out
    metrics: own-object share and mIoU per seed, ranked only where every seed agrees, and
    which of them has a content-blind control. "" when either has no kernel alignment."""
    shares = {}
    for kind in (first, second):
        share = _seeds(
            metrics or {}, kind, lambda r, k=kind: r["kernel_alignment"]["own_object_share"][k]
        )
        if not share:
            return ""
        shares[kind] = share
    miou = {k: _seeds(metrics, k, lambda r: r["miou"]) for k in (first, second)}
    a, b = display_name(first), display_name(second)

    def mean(values):
        return sum(values) / len(values)

    def compare(values, label, fmt):
        rank = _rank(values[first], values[second])
        numbers = f"{a} {mean(values[first]):{fmt}}, {b} {mean(values[second]):{fmt}}"
        if rank == "overlapping":
            return f"{label} {numbers}, their seeds overlap (not ranked)"
        return f"{label} {numbers}, every {a} seed {rank} every {b} seed"

    counts = {k: len(shares[k]) for k in (first, second)}

    def n_seeds(n: int) -> str:
        return f"{n} seed{'s' if n > 1 else ''}"

    which = (
        f"{n_seeds(counts[first])} each"
        if counts[first] == counts[second]
        else f"{a} {n_seeds(counts[first])}, {b} {n_seeds(counts[second])}"
    )
    text = (
        f"{a} vs {b} (stored, {which}): "
        + compare(shares, "own-object share", ".3f")
        + ("; " + compare(miou, "mIoU (%)", ".1f") if miou[first] and miou[second] else "")
        + "."
    )
    controls = {
        k: _seeds(
            metrics, k, lambda r, k=k: r["kernel_alignment"]["own_object_share"][f"{k}_moved"]
        )
        for k in (first, second)
    }
    with_control = [k for k in (first, second) if controls[k]]
    if len(with_control) == 1:
        k = with_control[0]
        other = second if k == first else first
        text += (
            f" Only {display_name(k)} has a content-blind control (its kernels moved to other "
            f"boundary pixels: {mean(controls[k]):.3f}); {display_name(other)} has none, so how "
            "much of its share comes from the content is not measured."
        )
    elif not with_control:
        text += " Neither has a content-blind control, so neither share is split into content."
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
