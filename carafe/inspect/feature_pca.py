"""Explore's upsampled maps in PCA colours (FeatUp's convention): where does each upsampler keep an
edge sharp?

Every feature vector of a step's coarse input map is projected onto the map's top three principal
components (fitted on the coarse map's pixels, centred by its mean, as
:func:`carafe.inspect.summaries.pca_basis` does), and each component is scaled by its 1st–99th
percentile on the coarse map: one basis and one colour scaling for every panel, so equal colours
mean equal features. Panels: the coarse map, bilinear, the model's own output, and every other
shipped learned upsampler's *reassembly* applied to the same coarse map (a twin's features live in
its own space, so its own output could not share the basis): a kernel upsampler's kernels through
the op, a point sampler's points through bilinear sampling as DySample does.

Under the figure one sentence says which panel's colours change most across the image's region edges
and which within its regions, each relative to bilinear, measured over 4-neighbour pairs of output
pixels in the unclipped colour space.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from carafe.inspect.catalog import display_name, kind_family, twin_names
from carafe.inspect.records import StepAnalysis
from carafe.inspect.summaries import pca_basis, pca_colours, pca_project
from carafe.ops import carafe
from carafe.ops.geometry import pixel_centre

__all__ = [
    "LEARNED_FAMILIES",
    "REFERENCE_KIND",
    "SAME_RATIO",
    "PcaMaps",
    "PcaPanel",
    "basis_sentence",
    "change_sentence",
    "colour_change",
    "family_kinds",
    "labels_on_grid",
    "missing_sentence",
    "pca_maps",
    "reassembled_by",
]

REFERENCE_KIND = "bilinear"  # every panel's colour change is read relative to this one
SAME_RATIO = 0.05  # ratios within ±5 % of each other (or of 1) are "about as much"
LEARNED_FAMILIES = ("kernels", "points")  # the family members whose reassembly is shown


@dataclass(frozen=True)
class PcaPanel:
    """One upsampled map in PCA colours, and how much those colours change between 4-neighbour
    output pixels in the same region (``within``) and in different regions (``across``); NaN
    where no such pair exists."""

    label: str
    kind: str
    rgb: np.ndarray  # (H, W, 3) float in [0, 1]
    within: float
    across: float


@dataclass(frozen=True)
class PcaMaps:
    """The coarse map and its upsampled panels, all on one :class:`PcaBasis`."""

    coarse: np.ndarray  # (h, w, 3) float in [0, 1]
    coarse_label: str
    panels: list[PcaPanel]
    explained: np.ndarray  # (3,) variance fractions of the three components
    within_pairs: int  # neighbour pairs of output pixels in one region
    across_pairs: int  # ... in two regions
    true_labels: bool = False  # regions are the scene's true objects, not colour regions
    missing: list[str] = field(default_factory=list)  # family kinds without this step


def _group_slices(channels: int, groups: int) -> list[slice]:
    """The channels of each group: c // (C/G) when G divides C, else the nearest split."""
    bounds = [g * channels // groups for g in range(groups + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


@torch.no_grad()
def _kernels_on(details, coarse: np.ndarray, scale: int, out_hw: tuple[int, int]) -> np.ndarray:
    c, h, w = coarse.shape
    k, groups = details.up_kernel, details.up_group
    full = (h * scale, w * scale)
    masks = np.zeros((groups * k * k, *full), np.float32)  # uncovered output pixels: cropped
    kh, kw = min(full[0], details.kernels.shape[1]), min(full[1], details.kernels.shape[2])
    masks[:, :kh, :kw] = details.kernels[:, :kh, :kw]
    x = torch.from_numpy(np.ascontiguousarray(coarse, np.float32))[None]
    m = torch.from_numpy(masks)[None]
    if c % groups == 0:
        out = carafe(x, m, k, groups, scale)
    else:  # the twin's groups do not divide this map's channels: one group at a time
        m = m.view(1, groups, k * k, *full)
        out = torch.cat(
            [
                carafe(x[:, part].contiguous(), m[:, g].contiguous(), k, 1, scale)
                for g, part in enumerate(_group_slices(c, groups))
            ],
            dim=1,
        )
    return out[0, :, : out_hw[0], : out_hw[1]].numpy()


@torch.no_grad()
def _points_on(points: np.ndarray, coarse: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """Bilinear sampling as DySample's: points (x, y) in input pixels (pixel j's centre is j),
    grid_sample with align_corners=False and border padding, one point set per channel group."""
    c, h, w = coarse.shape
    groups = points.shape[0]
    oh, ow = out_hw
    x = torch.from_numpy(np.ascontiguousarray(coarse, np.float32))
    pts = torch.from_numpy(np.ascontiguousarray(points[:, :oh, :ow], np.float32))
    grid = 2 * (pts + 0.5) / torch.tensor([w, h], dtype=torch.float32) - 1
    parts = [
        F.grid_sample(
            x[None, part],
            grid[g : g + 1],
            mode="bilinear",
            padding_mode="border",
            align_corners=False,
        )[0]
        for g, part in enumerate(_group_slices(c, groups))
    ]
    return torch.cat(parts).numpy()


def reassembled_by(
    twin_step: StepAnalysis,
    coarse: np.ndarray,
    scale: int,
    out_hw: tuple[int, int] | None = None,
) -> np.ndarray | None:
    """(C, H, W) float32: ``twin_step``'s reassembly (its kernels, or its sampling points)
    applied to another model's (C, h, w) ``coarse`` map of the same step, cropped to ``out_hw``
    (default: the twin's output size). None when the step has neither kernels nor points, or
    they cover another grid."""
    if out_hw is None:
        out_hw = twin_step.output_shape
    out_hw = (int(out_hw[0]), int(out_hw[1]))
    if tuple(twin_step.input.shape[1:]) != tuple(coarse.shape[1:]):
        return None
    details, points = twin_step.details, twin_step.points
    if details is not None and _covers(details.kernels.shape[1:], out_hw):
        return _kernels_on(details, coarse, scale, out_hw)
    if details is None and points is not None and _covers(points.shape[1:3], out_hw):
        return _points_on(points, coarse, out_hw)
    return None


def _covers(hw, out_hw) -> bool:
    return hw[0] >= out_hw[0] and hw[1] >= out_hw[1]


def labels_on_grid(labels: np.ndarray, stride: int, out_hw: tuple[int, int]) -> np.ndarray:
    """(H, W) int64: the (image-sized) ``labels`` at each map pixel's centre
    (:func:`carafe.ops.geometry.pixel_centre`); -1 where the map lies past the image."""
    oh, ow = int(out_hw[0]), int(out_hw[1])
    rows, cols = pixel_centre(np.arange(oh), stride), pixel_centre(np.arange(ow), stride)
    rows, cols = rows[rows < labels.shape[0]], cols[cols < labels.shape[1]]
    out = np.full((oh, ow), -1, np.int64)
    out[: len(rows), : len(cols)] = labels[rows[:, None], cols[None, :]]
    return out


def _neighbour_pairs(grid_labels: np.ndarray):
    """(first, second) index arrays of every 4-neighbour pair inside the image, and whether
    both lie in the same region."""
    h, w = grid_labels.shape
    idx = np.arange(h * w).reshape(h, w)
    first = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    second = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    flat = grid_labels.ravel()
    keep = (flat[first] >= 0) & (flat[second] >= 0)
    first, second = first[keep], second[keep]
    return first, second, flat[first] == flat[second]


def colour_change(panel_colours: np.ndarray, grid_labels: np.ndarray) -> tuple[float, float]:
    """(within, across): the mean colour distance between 4-neighbour output pixels of one
    region and of two regions (NaN without such pairs). ``panel_colours`` (H, W, 3) unclipped
    (:func:`carafe.inspect.summaries.pca_colours`); ``grid_labels`` (H, W), -1 past the image."""
    first, second, same = _neighbour_pairs(grid_labels)
    flat = panel_colours.reshape(-1, 3)
    dist = np.linalg.norm(flat[first] - flat[second], axis=1)
    within = float(dist[same].mean()) if same.any() else float("nan")
    across = float(dist[~same].mean()) if (~same).any() else float("nan")
    return within, across


def family_kinds(own_kind: str) -> list[str]:
    """The shipped learned upsamplers (kernels and points families) other than ``own_kind``
    whose reassembly the figure applies to the model's coarse map, in registry order."""
    return [k for k in twin_names(exclude=own_kind) if kind_family(k) in LEARNED_FAMILIES]


def _member_label(kind: str) -> str:
    what = "points" if kind_family(kind) == "points" else "kernels"
    return f"{display_name(kind)}'s {what} on this map"


def pca_maps(
    step: StepAnalysis,
    members: list[tuple[str, StepAnalysis | None]],
    labels: np.ndarray,
    true_labels: bool = False,
) -> PcaMaps:
    """``step``'s coarse map, bilinear, the model's own output and each family member's
    reassembly of the coarse map, on one PCA basis, cropped to the model's output size.

    members: (kind, that twin's analysis of the same step, or None when it has none).
    labels: (H, W) region ids at image resolution (the scene's objects when ``true_labels``,
    else colour regions), sampled at the output pixels' centres for the colour-change measure.
    """
    coarse = step.input
    out_hw = step.output_shape
    basis = pca_basis(coarse, step.geometry.visible_input_hw())
    grid_labels = labels_on_grid(labels, step.stride_out, out_hw)
    _, _, same = _neighbour_pairs(grid_labels)
    maps: list[tuple[str, str, np.ndarray]] = []
    if REFERENCE_KIND in step.outputs and step.kind != REFERENCE_KIND:
        maps.append((display_name(REFERENCE_KIND), REFERENCE_KIND, step.outputs[REFERENCE_KIND]))
    maps.append((f"{display_name(step.kind)} (this model)", step.kind, step.output))
    missing = []
    for kind, twin_step in members:
        out = None if twin_step is None else reassembled_by(twin_step, coarse, step.scale, out_hw)
        if out is None:
            missing.append(kind)
        else:
            maps.append((_member_label(kind), kind, out))
    panels = []
    for label, kind, m in maps:
        m = m[:, : out_hw[0], : out_hw[1]]
        c = pca_colours(m, basis)
        within, across = colour_change(c, grid_labels)
        panels.append(PcaPanel(label, kind, np.clip(c, 0.0, 1.0), within, across))
    h, w = coarse.shape[1:]
    return PcaMaps(
        coarse=pca_project(coarse, basis),
        coarse_label=f"Coarse input ({h}×{w})",
        panels=panels,
        explained=basis.explained,
        within_pairs=int(same.sum()),
        across_pairs=int((~same).sum()),
        true_labels=true_labels,
        missing=missing,
    )


# --- words ------------------------------------------------------------------------------------
_COUNT_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


def _names(names: list[str]) -> str:
    owned = [f"{n}'s" for n in names]
    return owned[0] if len(owned) == 1 else ", ".join(owned[:-1]) + " and " + owned[-1]


def _ratios(values: list[float]) -> str:
    return " and ".join(f"{v:.2f}×" for v in values)


def _leaders(ratios: dict[str, float]) -> tuple[list[str], list[float]]:
    """The kinds whose ratio is within SAME_RATIO of the largest, largest first."""
    order = sorted(ratios, key=lambda k: -ratios[k])
    top = ratios[order[0]]
    tied = [k for k in order if ratios[k] >= top * (1 - SAME_RATIO)]
    return [display_name(k) for k in tied], [ratios[k] for k in tied]


def _across_clause(ratios: dict[str, float], n: int, edges: str) -> str:
    names, values = _leaders(ratios)
    top = values[0]
    of_all = f"the most of the {_COUNT_WORDS.get(n, n)}"
    if top > 1 + SAME_RATIO:
        if len(names) == 1:
            return (
                f"Across {edges} {names[0]}'s colours change {top:.2f}× as much as "
                f"bilinear's, {of_all}"
            )
        return (
            f"Across {edges} {_names(names)} colours change most, {_ratios(values)} as much as "
            "bilinear's"
        )
    if top >= 1 - SAME_RATIO:
        return (
            f"Across {edges} no upsampler's colours change clearly more than bilinear's "
            f"({_names(names)} change about as much, {_ratios(values)} bilinear's)"
        )
    return (
        f"Across {edges} bilinear's colours change {of_all}; {_names(names)} come next "
        f"({_ratios(values)} bilinear's)"
    )


def _within_clause(ratios: dict[str, float], inside: str) -> str:
    names, values = _leaders(ratios)
    top = values[0]
    if top > 1 + SAME_RATIO:
        return f"within {inside} {_names(names)} change most ({_ratios(values)} bilinear's)"
    if top >= 1 - SAME_RATIO:
        return (
            f"within {inside} none changes clearly more than bilinear's ({_names(names)} "
            f"change about as much, {_ratios(values)} bilinear's)"
        )
    return (
        f"within {inside} bilinear's change most; {_names(names)} change next "
        f"({_ratios(values)} bilinear's)"
    )


def change_sentence(maps: PcaMaps) -> str:
    """Which panel's colours change most across the image's region edges and which within its
    regions, each relative to bilinear's (one sentence, from the numbers)."""
    edges = "object edges" if maps.true_labels else "region edges"
    inside = "objects" if maps.true_labels else "regions"
    ref = next((p for p in maps.panels if p.kind == REFERENCE_KIND), None)
    others = [p for p in maps.panels if p.kind != REFERENCE_KIND]
    if maps.across_pairs == 0:
        return (
            f"No two neighbouring output pixels of this step lie in different {inside}, so "
            "there is no edge to compare the panels on."
        )
    if ref is None or not others or not ref.across > 0:
        return "Without bilinear's colour change to compare with, the panels are not ranked."
    across = {p.kind: p.across / ref.across for p in others}
    sentence = _across_clause(across, len(maps.panels), edges)
    if maps.within_pairs and ref.within > 0:
        within = {p.kind: p.within / ref.within for p in others}
        sentence += "; " + _within_clause(within, inside)
        sentence += ". " + _contrast_clause(ref, others, inside)
    return sentence + "."


def _contrast_clause(ref, others, inside: str) -> str:
    """Which panel keeps edges sharpest for its noise: the largest ratio of its colour change
    across edges to its change within regions, against bilinear's ratio."""
    ratios = {p.kind: p.across / p.within for p in others if p.within > 0}
    ref_ratio = ref.across / ref.within
    if not ratios:
        return f"Bilinear's colours change {ref_ratio:.2f}× as much across edges as within {inside}"
    best = max(ratios, key=ratios.get)
    if ratios[best] <= ref_ratio * (1 + SAME_RATIO):
        return (
            f"Against its own change within {inside}, none changes more across edges than "
            f"bilinear ({ref_ratio:.2f}×; best {display_name(best)} {ratios[best]:.2f}×)"
        )
    return (
        f"Against its own change within {inside}, {display_name(best)} changes most across "
        f"edges: {ratios[best]:.2f}× (bilinear {ref_ratio:.2f}×)"
    )


def basis_sentence(maps: PcaMaps) -> str:
    """How much of the coarse map's variance the three colours show."""
    parts = [f"{100 * v:.0f} %" for v in maps.explained]
    total = 100 * float(np.sum(maps.explained))
    return (
        f"Red, green and blue hold {parts[0]}, {parts[1]} and {parts[2]} of the coarse map's "
        f"variance ({total:.0f} % together); features that differ only along other directions "
        "look alike."
    )


def missing_sentence(maps: PcaMaps) -> str:
    """Which shipped family members have no panel (their twin has no such step); "" if none."""
    if not maps.missing:
        return ""
    names = [display_name(k) for k in maps.missing]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "has" if len(names) == 1 else "have"
    return f"{listed} {verb} no kernels or points for this step, so no panel."
