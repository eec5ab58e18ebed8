"""The "Train a tiny CARAFE" page's numbers: a live training run as plain numpy records, the
pixels worth looking at, and the sentences that state what the numbers show.

:func:`train_playground` trains CARAFE, bilinear and DySample side by side on the edge task of
:mod:`carafe.training.tiny` and returns a :class:`Playground`: the loss curves, the three
outputs of one held-out picture, CARAFE's kernels of that picture, the pixels chosen from the
data (every edge pixel, beside-the-edge ones first, and one pixel in a flat area) with their
kernels, and how CARAFE's kernels compare with bilinear's weights over the edge pixels.
:func:`costs` gives the parameter and FLOP counts of the registry (``upsampler_cost``) for a
knob set, without training.

Every ``*_sentence`` function words one fact from the numbers, so the page never states a fact
the data do not hold. No Streamlit and no plotting here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from carafe.inspect.analysis import to_numpy
from carafe.inspect.catalog import display_name
from carafe.nn.interpolation import bilinear_kernel_1d
from carafe.nn.registry import upsampler_cost
from carafe.ops.geometry import Geometry
from carafe.training.tiny import KINDS, TinyConfig, TinyProgress, TinyRun, deterministic, train_tiny

__all__ = [
    "CHOICES",
    "KINDS",
    "MATCH_TOLERANCE",
    "Cost",
    "EdgeGroup",
    "EdgeSummary",
    "Knobs",
    "PixelKernels",
    "Playground",
    "block_sentence",
    "costs",
    "edge_sentence",
    "edge_summary_sentence",
    "flat_sentence",
    "groups_sentence",
    "loss_sentence",
    "pixel_kernels",
    "playground_from_run",
    "reach_sentence",
    "step_flops",
    "train_playground",
    "work_sentence",
]

#: The values each knob offers on the page (C = 8 maps reach the upsampler: G divides 8).
CHOICES = {
    "up_kernel": (1, 3, 5, 7),
    "encoder_kernel": (1, 3, 5),
    "compressed_channels": (4, 8, 16, 32),
    "scale": (2, 3, 4),
    "groups": (1, 2, 4),
}
#: A tap "has the pixel's colour" when no colour channel differs by more than this.
MATCH_TOLERANCE = 0.05
#: A source pixel this close to the pixel's colour (share of the contrast) is of its colour.
MIN_BLEND = 0.1
#: An edge pixel is one where bilinear takes at least this weight from the other colour.
MIN_BLEED = 0.1
#: A clean edge's two colours differ by at least this in some channel.
EDGE_CONTRAST = 0.3
#: Kernels differing by less than this share of their weight count as "nearly the same".
SAME_KERNEL = 0.05


@dataclass(frozen=True)
class Knobs:
    """The CARAFE knobs of the page; everything else of the run is fixed (TinyConfig)."""

    up_kernel: int = 5
    encoder_kernel: int = 3
    compressed_channels: int = 16
    scale: int = 2
    groups: int = 1

    def config(self, **overrides) -> TinyConfig:
        """The training config of these knobs (``overrides`` change the fixed settings, for
        tests: e.g. fewer steps)."""
        return TinyConfig(
            up_kernel=self.up_kernel,
            encoder_kernel=self.encoder_kernel,
            compressed_channels=self.compressed_channels,
            scale=self.scale,
            groups=self.groups,
            **overrides,
        )


@dataclass(frozen=True)
class Cost:
    """One upsampler's size under the knobs, from the registry's ``upsampler_cost``."""

    kind: str
    name: str
    params: int  # the upsampler's parameters
    flops_per_input_pixel: int
    net_params: int  # the whole tiny network: convs + upsampler


def costs(knobs: Knobs) -> list[Cost]:
    """Parameters and FLOPs per input pixel of each upsampler for these knobs (no training)."""
    cfg = knobs.config()
    c = cfg.channels
    colours = 3
    convs = (colours * 9 + 1) * (c - colours) + (c + 1) * colours  # stem 3×3 + head 1×1
    out = []
    for kind in KINDS:
        cost = upsampler_cost(kind, c, cfg.scale, **cfg.upsampler_options(kind))
        out.append(
            Cost(
                kind,
                display_name(kind),
                cost["params"],
                cost["flops_per_input_pixel"],
                cost["params"] + convs,
            )
        )
    return out


def step_flops(knobs: Knobs) -> int:
    """FLOPs of one forward pass of the three networks on one picture under ``knobs``: each
    upsampler's FLOPs per input pixel (upsampler_cost) times the input pixels, plus the convs
    (counted the same way). Training time grows with it."""
    cfg = knobs.config()
    c, low, high = cfg.channels, cfg.low_size**2, cfg.size**2
    convs = low * (2 * 3 * 9 - 1) * (c - 3) + high * (2 * c - 1) * 3
    return sum(cost.flops_per_input_pixel * low + convs for cost in costs(knobs))


@dataclass
class PixelKernels:
    """CARAFE's kernels at one output pixel of the shown picture, with what lies under them.

    role: "edge" or "flat". pixel: output (y, x); source: its input pixel (⌊y/s⌋, ⌊x/s⌋);
    sub_pixel: (y mod s, x mod s). kernels: (G, k, k), one per group. block: (s, s, G, k, k),
    the s² kernels the source pixel predicts (block[a, b] for output (s·sy + a, s·sx + b)).
    window: (y0, x0, y1, x1) the k×k input window in picture pixels (half-open, clipped to the
    picture). taps: (k, k, 3) input colours under the taps (NaN outside the map). truth: (3,)
    the full-resolution colour of the pixel. matching: (k, k) taps within MATCH_TOLERANCE of
    it. weight_on_match: the kernels' weight on those taps (mean over groups);
    bilinear_on_match: bilinear's weight there (None for k = 1, too small for bilinear's taps).
    reassembled: (3,) the colour the kernels make of the taps (each colour channel with its
    group's kernel); bilinear_colour: (3,) what bilinear's weights make of them (or None).
    spread: the largest difference of a colour channel between two taps inside the map.
    beside: for an edge pixel, whether its source pixel has its own colour (the edge passes
    beside it) or not (the edge crosses it); None for other pixels.
    """

    role: str
    pixel: tuple[int, int]
    source: tuple[int, int]
    sub_pixel: tuple[int, int]
    kernels: np.ndarray
    block: np.ndarray
    window: tuple[int, int, int, int]
    taps: np.ndarray
    truth: np.ndarray
    matching: np.ndarray
    weight_on_match: float
    bilinear_on_match: float | None
    reassembled: np.ndarray
    bilinear_colour: np.ndarray | None
    spread: float
    beside: bool | None = None  # edge pixels: the source pixel has the pixel's own colour

    @property
    def n_matching(self) -> int:
        return int(self.matching.sum())

    @property
    def miss(self) -> float:
        """How far the kernels' colour is from the true colour (largest channel difference)."""
        return float(np.abs(self.reassembled - self.truth).max())

    @property
    def bilinear_miss(self) -> float | None:
        """The same for bilinear's weights (None without them)."""
        if self.bilinear_colour is None:
            return None
        return float(np.abs(self.bilinear_colour - self.truth).max())


@dataclass
class Playground:
    """One finished run, reduced to what the page shows (see the module doc).

    low: (h, w, 3) the shown held-out input; target: (H, W, 3) its full-resolution picture;
    outputs[kind]: (H, W, 3) each model's output; errors[kind]: (H, W) squared error per pixel
    (mean over colours). kernels: (G·k², H, W) CARAFE's kernels of the picture.
    """

    knobs: Knobs
    config: TinyConfig
    kinds: tuple[str, ...]
    names: dict[str, str]
    steps: np.ndarray  # (T,) 1..T
    train_loss: dict[str, np.ndarray]
    heldout_steps: np.ndarray
    heldout_loss: dict[str, np.ndarray]
    seconds: float
    cpu_seconds: float
    picture: int  # index of the shown held-out picture
    low: np.ndarray
    target: np.ndarray
    outputs: dict[str, np.ndarray]
    errors: dict[str, np.ndarray]
    kernels: np.ndarray
    edge: PixelKernels  # the first of edge_pixels
    edge_pixels: np.ndarray  # (n, 2) every edge pixel, in the order of _choose_pixels
    edge_beside: np.ndarray  # (n,) bool: the source pixel has the pixel's own colour
    edge_summary: EdgeSummary
    flat: PixelKernels

    @property
    def final_heldout(self) -> dict[str, float]:
        return {k: float(v[-1]) for k, v in self.heldout_loss.items()}

    def rgb(self) -> dict[str, np.ndarray]:
        """(H, W, 3) uint8 pictures on one colour scale, values clipped to [0, 1]: "input" (each
        input pixel repeated s×s times, so every panel has the picture's size), "target" and
        one per kind."""
        s = self.config.scale
        maps = {"input": np.repeat(np.repeat(self.low, s, axis=0), s, axis=1)}
        maps["target"] = self.target
        maps.update(self.outputs)
        return {k: (np.clip(v, 0, 1) * 255 + 0.5).astype(np.uint8) for k, v in maps.items()}

    def pixel(self, role: str, index: int = 0) -> PixelKernels:
        """The flat pixel, or edge pixel ``index`` (clamped to the list)."""
        if role == "flat":
            return self.flat
        i = min(max(int(index), 0), len(self.edge_pixels) - 1)
        y, x = self.edge_pixels[i]
        c = self.config
        h, w = self.low.shape[:2]
        geometry = Geometry(c.up_kernel, c.groups, c.scale, c.channels, h, w, c.scale, 1)
        px = pixel_kernels("edge", geometry, self.kernels, self.low, self.target, y, x)
        return dataclasses.replace(px, beside=bool(self.edge_beside[i]))


# --- building the record --------------------------------------------------------------------
def _bilinear_kernel(k: int, s: int, a: int, b: int) -> np.ndarray | None:
    """Bilinear's weights on the k×k taps for sub-pixel (a, b), away from the border."""
    if k < 3:
        return None
    return np.outer(bilinear_kernel_1d(k, s, a).numpy(), bilinear_kernel_1d(k, s, b).numpy())


def pixel_kernels(
    role: str, geometry: Geometry, kernels: np.ndarray, low: np.ndarray, target: np.ndarray, y, x
) -> PixelKernels:
    """The :class:`PixelKernels` of output pixel (y, x) from a picture's kernels (G·k², H, W),
    its input (h, w, 3) and its full-resolution picture (H, W, 3)."""
    g, k, s = geometry.G, geometry.k, geometry.s
    y, x = int(y), int(x)
    win = geometry.window(y, x)
    sy, sx = win.source
    a, b = geometry.sub_pixel(y, x)
    per_pixel = kernels.reshape(g, k, k, *kernels.shape[1:])
    rows = np.clip(win.rows, 0, geometry.H - 1)
    cols = np.clip(win.cols, 0, geometry.W - 1)
    taps = low[rows[:, None], cols[None, :]].astype(np.float64)
    taps[~win.inside] = np.nan
    truth = target[y, x].astype(np.float64)
    with np.errstate(invalid="ignore"):
        matching = np.all(np.abs(taps - truth) <= MATCH_TOLERANCE, axis=-1) & win.inside
    mine = per_pixel[..., y, x]
    block = per_pixel[..., s * sy : s * sy + s, s * sx : s * sx + s]  # (G, k, k, s, s)
    inside = taps[win.inside]
    bil = _bilinear_kernel(k, s, a, b)
    zeroed = np.nan_to_num(taps)  # zero padding, as the op reads it
    colour_groups = [geometry.group_of_channel(c) for c in range(taps.shape[-1])]
    reassembled = np.array(
        [(mine[gi] * zeroed[..., c]).sum() for c, gi in enumerate(colour_groups)]
    )
    window = (
        max(int(win.rows[0]) * s, 0),
        max(int(win.cols[0]) * s, 0),
        min((int(win.rows[-1]) + 1) * s, geometry.H * s),
        min((int(win.cols[-1]) + 1) * s, geometry.W * s),
    )
    return PixelKernels(
        role=role,
        pixel=(y, x),
        source=(sy, sx),
        sub_pixel=(a, b),
        kernels=np.ascontiguousarray(mine),
        block=np.ascontiguousarray(np.moveaxis(block, (3, 4), (0, 1))),
        window=window,
        taps=taps,
        truth=truth,
        matching=matching,
        weight_on_match=float((mine * matching).sum(axis=(1, 2)).mean()),
        bilinear_on_match=None if bil is None else float((bil * matching).sum()),
        reassembled=reassembled,
        bilinear_colour=None if bil is None else (bil[..., None] * zeroed).sum(axis=(0, 1)),
        spread=float(np.ptp(inside, axis=0).max()) if len(inside) else 0.0,
    )


def _window_stats(geometry: Geometry, low: np.ndarray, target: np.ndarray):
    """Per output pixel (H, W): the window lies inside the map; the colour spread of its
    window; which taps have the pixel's true colour (H, W, k, k); how far the source pixel's
    colour is from it, as a share of the window's contrast (0 = its own colour, 0.5 = a
    half-and-half blend); and whether the window is a clean edge (every tap a blend of the true
    colour A and one other colour B, the tap furthest from A, with A and B well apart)."""
    k, s, r = geometry.k, geometry.s, geometry.radius
    h, w = low.shape[:2]
    padded = np.pad(low.astype(np.float64), ((r, r), (r, r), (0, 0)), constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(0, 1))
    # windows: (h, w, 3, k, k) -> the same for each of the s×s outputs of an input pixel
    win = np.repeat(np.repeat(windows, s, axis=0), s, axis=1)
    inside = np.zeros((h, w), bool)
    inside[r : h - r, r : w - r] = True
    inside = np.repeat(np.repeat(inside, s, axis=0), s, axis=1)
    spread = np.nanmax(win, axis=(3, 4)) - np.nanmin(win, axis=(3, 4))
    spread = spread.max(axis=-1)
    with np.errstate(invalid="ignore"):
        close = np.abs(win - target[..., None, None]) <= MATCH_TOLERANCE
    same = close.all(axis=2)  # (H, W, k, k) taps of the pixel's true colour
    source = np.repeat(np.repeat(low, s, axis=0), s, axis=1)
    blend = np.abs(source - target).max(axis=-1)
    # Clean edge: each tap lies on the segment from A (the truth) to B (the furthest tap).
    a = target[..., None, None].astype(np.float64)
    taps = win.reshape(*win.shape[:3], -1)
    distance = np.abs(taps - a[..., 0]).max(axis=2)  # NaN for taps outside the map
    far = np.argmax(np.nan_to_num(distance, nan=-1.0), axis=-1)
    ab = np.take_along_axis(taps, far[:, :, None, None], axis=-1)[..., None] - a
    t = np.clip(
        ((win - a) * ab).sum(axis=2, keepdims=True)
        / np.maximum((ab**2).sum(axis=2, keepdims=True), 1e-12),
        0,
        1,
    )
    off_segment = np.nanmax(np.abs(win - (a + t * ab)), axis=(2, 3, 4))
    contrast = np.abs(ab).max(axis=(2, 3, 4))
    clean = (off_segment <= MATCH_TOLERANCE) & (contrast >= EDGE_CONTRAST)
    return inside, spread, same, blend / np.maximum(contrast, 1e-12), clean


def _bilinear_bleed(geometry: Geometry, same: np.ndarray) -> np.ndarray:
    """(H, W): the weight bilinear's taps put on input pixels not of the true colour (zeros
    where its taps do not fit the window, k = 1)."""
    k, s = geometry.k, geometry.s
    h, w = same.shape[:2]
    if k < 3:
        return np.zeros((h, w))
    per_sub = np.array([[_bilinear_kernel(k, s, a, b) for b in range(s)] for a in range(s)])
    tiled = np.tile(per_sub, (h // s, w // s, 1, 1))  # (H, W, k, k): sub-pixel (y % s, x % s)
    return (tiled * ~same).sum(axis=(2, 3))


def _choose_pixels(geometry: Geometry, low: np.ndarray, target: np.ndarray):
    """(edge pixels (n, 2), beside (n,) bool, flat pixel) of the picture, from the data.

    Edge pixels: those whose window lies inside the map, is a clean edge between two colours
    and holds taps of the true colour, and where bilinear's fixed weights take at least
    MIN_BLEED from the other colour (there an upsampler must choose); failing that, fewer of
    these conditions. beside: the source pixel has the pixel's own colour (the edge passes
    beside it, not through it). Order: beside first, then the most bilinear bleeding, then
    nearest the centre. Flat: the pixel nearest the centre among those whose window has the
    least colour spread.
    """
    inside, spread, same, blend, clean = _window_stats(geometry, low, target)
    matches = same.sum(axis=(2, 3))
    bleed = _bilinear_bleed(geometry, same)
    hh, ww = spread.shape
    yy, xx = np.mgrid[:hh, :ww]
    centre = (yy - (hh - 1) / 2) ** 2 + (xx - (ww - 1) / 2) ** 2
    some = inside & (matches > 0) & (matches < geometry.taps)
    tiers = (some & clean & (bleed >= MIN_BLEED), some & clean, some)
    candidates = next((c for c in tiers if c.any()), np.ones_like(some))
    ys, xs = np.nonzero(candidates)
    beside = blend[ys, xs] < MIN_BLEND
    order = np.lexsort((centre[ys, xs], -np.round(bleed[ys, xs], 2), ~beside))
    edges = np.stack([ys[order], xs[order]], axis=1)
    masked = np.where(inside, spread, np.inf) if inside.any() else spread
    flattest = masked <= masked.min() + 1e-9
    flat = np.unravel_index(int(np.argmin(np.where(flattest, centre, np.inf))), masked.shape)
    return edges, beside[order], flat


@dataclass(frozen=True)
class EdgeGroup:
    """CARAFE against bilinear over a set of edge pixels (see PixelKernels.miss)."""

    pixels: int
    carafe_closer: int  # pixels where CARAFE's kernels come closer to the true colour
    carafe_miss: float  # mean miss over the pixels
    bilinear_miss: float | None  # None when bilinear's taps do not fit the window (k = 1)


@dataclass(frozen=True)
class EdgeSummary:
    """The edge pixels of the picture in two groups: beside the edge (the source pixel has
    the pixel's own colour) and across it (the edge crosses the source pixel)."""

    beside: EdgeGroup
    across: EdgeGroup


def _edge_group(edges: list[PixelKernels]) -> EdgeGroup:
    if not edges:
        return EdgeGroup(0, 0, 0.0, None)
    carafe_miss = float(np.mean([e.miss for e in edges]))
    if edges[0].bilinear_miss is None:
        return EdgeGroup(len(edges), 0, carafe_miss, None)
    return EdgeGroup(
        pixels=len(edges),
        carafe_closer=sum(e.miss < e.bilinear_miss for e in edges),
        carafe_miss=carafe_miss,
        bilinear_miss=float(np.mean([e.bilinear_miss for e in edges])),
    )


def playground_from_run(run: TinyRun, picture: int = 0) -> Playground:
    """Reduce a finished run to the page's record, showing held-out picture ``picture``."""
    cfg = run.config
    low_t = run.task.heldout_low[picture : picture + 1]
    with deterministic(), torch.no_grad():
        outputs = {k: to_numpy(m(low_t)[0]).transpose(1, 2, 0) for k, m in run.models.items()}
        net = run.models["carafe"]
        kernels = to_numpy(net.upsampler.forward_with_intermediates(net.features(low_t)).kernels[0])
    low = to_numpy(low_t[0]).transpose(1, 2, 0)
    target = to_numpy(run.task.heldout_high[picture]).transpose(1, 2, 0)
    geometry = Geometry(cfg.up_kernel, cfg.groups, cfg.scale, cfg.channels, *low.shape[:2])
    edges, beside, (fy, fx) = _choose_pixels(geometry, low, target)
    edge_kernels = [
        dataclasses.replace(
            pixel_kernels("edge", geometry, kernels, low, target, y, x), beside=bool(b)
        )
        for (y, x), b in zip(edges, beside, strict=True)
    ]
    summary = EdgeSummary(
        _edge_group([e for e, b in zip(edge_kernels, beside, strict=True) if b]),
        _edge_group([e for e, b in zip(edge_kernels, beside, strict=True) if not b]),
    )
    return Playground(
        knobs=Knobs(
            cfg.up_kernel, cfg.encoder_kernel, cfg.compressed_channels, cfg.scale, cfg.groups
        ),
        config=cfg,
        kinds=run.kinds,
        names={k: display_name(k) for k in run.kinds},
        steps=np.arange(1, cfg.steps + 1),
        train_loss=dict(run.train_loss),
        heldout_steps=run.heldout_steps,
        heldout_loss=dict(run.heldout_loss),
        seconds=run.seconds,
        cpu_seconds=run.cpu_seconds,
        picture=picture,
        low=low,
        target=target,
        outputs=outputs,
        errors={k: ((o - target) ** 2).mean(axis=-1) for k, o in outputs.items()},
        kernels=kernels,
        edge=edge_kernels[0],
        edge_pixels=edges,
        edge_beside=beside,
        edge_summary=summary,
        flat=pixel_kernels("flat", geometry, kernels, low, target, fy, fx),
    )


def train_playground(
    knobs: Knobs,
    progress: Callable[[float, str], None] | None = None,
    **overrides,
) -> Playground:
    """Train the three models under ``knobs`` and return the page's record.

    ``progress(fraction, text)`` is called about 50 times during training, with a line giving
    the step and each model's training loss; ``overrides`` go to :meth:`Knobs.config`.
    """
    config = knobs.config(**overrides)
    every = max(1, config.steps // 50)

    def report(p: TinyProgress) -> None:
        if progress is not None and (p.step % every == 0 or p.step == p.steps):
            losses = ", ".join(f"{display_name(k)} {v:.4f}" for k, v in p.train_loss.items())
            progress(p.fraction, f"Step {p.step}/{p.steps}; training loss {losses}")

    return playground_from_run(train_tiny(config, report))


# --- sentences --------------------------------------------------------------------------------
def loss_sentence(final: dict[str, float], names: dict[str, str]) -> str:
    """Whether CARAFE ends with a lower held-out loss than each other upsampler, with numbers."""
    c = final["carafe"]
    others = [k for k in final if k != "carafe"]
    below = [k for k in others if c < final[k]]
    not_below = [k for k in others if k not in below]

    def vs(k: str) -> str:
        change = (final[k] - c) / final[k] if final[k] else 0.0
        word = "lower" if change >= 0 else "higher"
        return f"{names[k]} ({final[k]:.5f}; CARAFE is {abs(change):.0%} {word})"

    parts = []
    if below:
        parts.append(
            f"CARAFE ends with a lower held-out loss ({c:.5f}) than "
            + " and ".join(vs(k) for k in below)
            + "."
        )
    if not_below:
        start = "It does not end below " if below else f"CARAFE ({c:.5f}) does not end below "
        parts.append(start + " or ".join(vs(k) for k in not_below) + ".")
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
    if share > 0.5 and group.carafe_miss < group.bilinear_miss:
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
        if px.bilinear_on_match is not None:
            share += f" (bilinear {px.bilinear_on_match:.0%})"
    else:
        share = f"; no input pixel of its {k}×{k} window has that colour"
    b = px.bilinear_miss
    if b is None:
        return head + share + f". Bilinear's taps do not fit a {k}×{k} window."
    if px.miss >= b:
        return head + f", bilinear's weights {b:.2f}" + share + ". Here CARAFE does no better."
    verdict = ". CARAFE comes closer to the true colour than bilinear"
    if px.bilinear_on_match is not None and px.weight_on_match > px.bilinear_on_match:
        verdict += ": it takes more of its value from the pixel's own side of the edge"
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
    if ratio >= 1.5:
        return (
            f"These knobs cost about **{ratio:.1f}×** the default knobs' work per step "
            f"{numbers}: training takes about that much longer."
        )
    if ratio <= 1 / 1.5:
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
