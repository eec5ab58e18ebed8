"""A task small enough to train CARAFE live on a CPU: give back the sharp edges of a picture.

The data are synthetic pictures of flat-coloured shapes (discs, triangles, rectangles and
half-planes with hard edges), drawn with numpy from a fixed seed. Each picture is shrunk ×s by
area averaging (an edge pixel becomes a blend of its two colours) and a model must upsample it
×s back to full resolution; the loss is the mean square error against the full-resolution
picture. Away from edges any upsampler does well; at edges a fixed interpolation blurs, while
CARAFE can take each output pixel's value from the input pixels on its own side of the edge.

Every model is the same tiny network around a different upsampler: at low resolution the 3
colours and C - 3 features of a 3×3 conv (ReLU), the upsampler (C -> C maps, ×s), and a 1×1
conv back to colours, which starts by passing the colours through.
CARAFE, bilinear (with the same two convs, so it learns too) and DySample train side by side
under one budget: the same steps, batches, seed and optimiser; any other kind with the registry's
"tiny" measure (FADE, SAPA, ...) can join. A guided kind needs a fine map, and this task has
none finer than its input: its guide is the C maps upsampled bilinearly, which adds resolution
but no information, so it shows what the guided kernels make of the coarse input alone.
:func:`train_tiny` is deterministic: one torch thread, deterministic algorithms, every random number from the seed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from carafe.nn import CONTROL_KIND, SUBJECT_KIND, UPSAMPLERS, build_upsampler, kinds_where
from carafe.tools.timing import torch_threads

__all__ = [
    "KINDS",
    "tiny_kinds",
    "TinyConfig",
    "TinyNet",
    "TinyProgress",
    "TinyRun",
    "TinyTask",
    "area_downsample",
    "deterministic",
    "make_pictures",
    "make_task",
    "train_tiny",
]


def tiny_kinds() -> tuple[str, ...]:
    """Every kind this task can train: the bilinear control and the registry's "tiny" kinds."""
    return (CONTROL_KIND, *kinds_where(measure="tiny"))


#: The upsamplers trained side by side by default, in the order they are shown: CARAFE, its
#: bilinear control and the first point sampler (DySample).
KINDS = (SUBJECT_KIND, CONTROL_KIND, *kinds_where(family="points", measure="tiny")[:1])
COLOURS = 3
SHAPES = (3, 6)  # shapes per picture (fewest, most): many edges, so the edges drive the loss
CONTRAST_JITTER = 0.3


@dataclass(frozen=True)
class TinyConfig:
    """Everything that decides a run; two equal configs give identical runs.

    The CARAFE knobs: ``up_kernel`` k_up, ``encoder_kernel`` k_enc, ``compressed_channels``
    C_m, ``scale`` s, ``groups`` G (also DySample's point groups). ``channels`` C is the width
    of the maps the upsampler sees (the 3 colours and C - 3 features); it must be divisible by
    G. ``size`` is the side of a full-resolution picture, divisible by s (48 is divisible by
    2, 3 and 4); the input is size / s pixels wide. Fixing the picture rather than the input
    keeps the work of a step nearly independent of s: s² times fewer input pixels each predict
    s² kernels.
    """

    up_kernel: int = 5
    encoder_kernel: int = 3
    compressed_channels: int = 16
    scale: int = 2
    groups: int = 1
    channels: int = 8
    size: int = 48
    train_pictures: int = 256
    heldout_pictures: int = 8
    steps: int = 300
    batch: int = 4
    lr: float = 1e-2
    eval_every: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if self.channels <= COLOURS:
            raise ValueError(f"channels ({self.channels}) must exceed the {COLOURS} colours")
        if self.size % self.scale:
            raise ValueError(f"size ({self.size}) must be divisible by scale ({self.scale})")
        if self.channels % self.groups:
            raise ValueError(f"channels ({self.channels}) must be divisible by G ({self.groups})")
        if self.steps < 1 or self.eval_every < 1:
            raise ValueError("steps and eval_every must be positive")

    @property
    def low_size(self) -> int:
        """Side of a low-resolution input."""
        return self.size // self.scale

    def upsampler_options(self, kind: str) -> dict:
        """The registry options of ``kind`` under this config (its ``knob_options``)."""
        knobs = dict(
            up_kernel=self.up_kernel,
            up_group=self.groups,
            encoder_kernel=self.encoder_kernel,
            compressed_channels=self.compressed_channels,
        )
        return UPSAMPLERS[kind].knob_options(knobs)


# --- the data -----------------------------------------------------------------------------
def _shape_mask(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, size: int) -> np.ndarray:
    """One random shape as a boolean mask on the (yy, xx) pixel-centre grid."""
    kind = rng.integers(4)
    cy, cx = rng.uniform(0.15, 0.85, 2) * size
    if kind == 0:  # disc
        r = rng.uniform(0.1, 0.3) * size
        return (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
    if kind == 1:  # half-plane through (cy, cx)
        a = rng.uniform(0, 2 * np.pi)
        return (yy - cy) * np.sin(a) + (xx - cx) * np.cos(a) > 0
    if kind == 2:  # axis-aligned rectangle
        hy, hx = rng.uniform(0.08, 0.3, 2) * size
        return (np.abs(yy - cy) < hy) & (np.abs(xx - cx) < hx)
    # triangle: inside all three edges (corners in counter-clockwise order)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 3))
    radius = rng.uniform(0.15, 0.35) * size
    py, px = cy + radius * np.sin(angles), cx + radius * np.cos(angles)
    inside = np.ones_like(yy, dtype=bool)
    for i in range(3):
        j = (i + 1) % 3
        cross = (px[j] - px[i]) * (yy - py[i]) - (py[j] - py[i]) * (xx - px[i])
        inside &= cross >= 0
    return inside


def _colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated colour: each channel near 0 or near 1, so most edges have high contrast."""
    return np.abs(rng.integers(0, 2, COLOURS) - rng.uniform(0, CONTRAST_JITTER, COLOURS))


def make_pictures(n: int, size: int, seed: int) -> np.ndarray:
    """(n, 3, size, size) float32 pictures in [0, 1]: a background colour and a few shapes
    (SHAPES) of other colours with hard edges. Picture i depends only on (seed, i)."""
    yy, xx = np.mgrid[:size, :size].astype(np.float64) + 0.5
    out = np.empty((n, COLOURS, size, size), np.float32)
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        picture = np.empty((COLOURS, size, size))
        picture[:] = _colour(rng)[:, None, None]
        for _ in range(rng.integers(SHAPES[0], SHAPES[1] + 1)):
            mask = _shape_mask(rng, yy, xx, size)
            picture[:, mask] = _colour(rng)[:, None]
        out[i] = picture
    return out


def area_downsample(pictures: torch.Tensor, scale: int) -> torch.Tensor:
    """Shrink (N, C, H, W) by ``scale``: each low-resolution pixel is the mean of its block."""
    return F.avg_pool2d(pictures, scale)


@dataclass
class TinyTask:
    """Low-resolution inputs and full-resolution targets, for training and a fixed held-out
    batch (pictures drawn from a different seed stream than the training ones)."""

    train_low: torch.Tensor  # (N, 3, size/s, size/s)
    train_high: torch.Tensor  # (N, 3, size, size)
    heldout_low: torch.Tensor
    heldout_high: torch.Tensor


def make_task(config: TinyConfig) -> TinyTask:
    """The pictures of ``config`` and their ×s area-averaged inputs."""
    train = torch.from_numpy(make_pictures(config.train_pictures, config.size, 2 * config.seed))
    held = torch.from_numpy(
        make_pictures(config.heldout_pictures, config.size, 2 * config.seed + 1)
    )
    s = config.scale
    return TinyTask(area_downsample(train, s), train, area_downsample(held, s), held)


# --- the models ---------------------------------------------------------------------------
class TinyNet(nn.Module):
    """3×3 conv (colours -> C, ReLU) at low resolution, the upsampler, 1×1 conv (C -> colours).

    ``upsampler`` maps (N, C, h, w) to (N, C, s·h, s·w); the convs are the same for every kind.
    """

    def __init__(self, upsampler: nn.Module, channels: int, guide_scale: int = 0) -> None:
        super().__init__()
        self.guide_scale = guide_scale  # s for a guided upsampler (it reads a fine map), else 0
        self.stem = nn.Conv2d(COLOURS, channels - COLOURS, 3, padding=1)
        self.upsampler = upsampler
        self.head = nn.Conv2d(channels, COLOURS, 1)
        # The head starts by passing the colours through: each model starts as its plain
        # upsampler applied to the picture, and learns from there.
        with torch.no_grad():
            self.head.weight.zero_()
            self.head.weight[:, :COLOURS, 0, 0] = torch.eye(COLOURS)
            self.head.bias.zero_()

    def features(self, low: torch.Tensor) -> torch.Tensor:
        """The C maps the upsampler receives: the 3 colours, then C - 3 learned features."""
        return torch.cat([low, F.relu(self.stem(low))], dim=1)

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        """(N, 3, h, w) low-resolution pictures -> (N, 3, s·h, s·w)."""
        maps = self.features(low)
        if self.guide_scale:  # a guided kind: the maps upsampled bilinearly (see the docstring)
            guide = F.interpolate(
                maps, scale_factor=self.guide_scale, mode="bilinear", align_corners=False
            )
            return self.head(self.upsampler(maps, guide))
        return self.head(self.upsampler(maps))


def build_tiny(kind: str, config: TinyConfig) -> TinyNet:
    """A TinyNet around ``kind``; the convs start from the same seed for every kind."""
    torch.manual_seed(config.seed)
    net = TinyNet(nn.Identity(), config.channels)
    if kind not in tiny_kinds():
        raise ValueError(f"{kind!r} cannot be trained here; choose from {tiny_kinds()}")
    net.upsampler = build_upsampler(
        kind, config.channels, config.scale, **config.upsampler_options(kind)
    )
    net.guide_scale = config.scale if UPSAMPLERS[kind].needs_guide else 0
    return net


@contextlib.contextmanager
def deterministic():
    """One torch thread and deterministic algorithms for the block; both restored afterwards.

    One thread also keeps a live training run from taking every core of a shared server.
    """
    was = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with torch_threads(1):
            yield
    finally:
        torch.use_deterministic_algorithms(was)


# --- the training loop --------------------------------------------------------------------
@dataclass
class TinyProgress:
    """Where a run is, passed to the progress callback after every step."""

    step: int  # steps done (1..steps)
    steps: int
    train_loss: dict[str, float]  # this step's training loss per kind

    @property
    def fraction(self) -> float:
        return self.step / self.steps


@dataclass
class TinyRun:
    """A finished run: the trained models (eval mode), the task and every loss.

    train_loss[kind]: (steps,) training MSE of every step. heldout_steps: (E,) the steps after
    which the held-out batch was evaluated (0 = before training); heldout_loss[kind]: (E,) MSE
    on it. seconds: wall time of the training loop (data and models excluded); cpu_seconds:
    the CPU time it took (one thread), which a busy machine does not inflate.
    """

    config: TinyConfig
    task: TinyTask
    models: dict[str, TinyNet]
    train_loss: dict[str, np.ndarray]
    heldout_steps: np.ndarray
    heldout_loss: dict[str, np.ndarray]
    seconds: float
    cpu_seconds: float
    kinds: tuple[str, ...] = field(default=KINDS)

    def final_heldout(self, kind: str) -> float:
        """The held-out MSE of ``kind`` after the last step."""
        return float(self.heldout_loss[kind][-1])

    @property
    def carafe(self):
        """The trained CARAFE upsampler."""
        return self.models[SUBJECT_KIND].upsampler


@torch.no_grad()
def _heldout(models: dict[str, TinyNet], task: TinyTask) -> dict[str, float]:
    return {k: float(F.mse_loss(m(task.heldout_low), task.heldout_high)) for k, m in models.items()}


def train_tiny(
    config: TinyConfig = TinyConfig(),
    progress: Callable[[TinyProgress], None] | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> TinyRun:
    """Train one TinyNet per kind on the same batches and return the run.

    Every step draws one batch (from the seed) and takes one Adam step of each model on it, so
    the models see the same data in the same order; ``progress`` is called after every step.
    """
    with deterministic():
        task = make_task(config)
        models = {kind: build_tiny(kind, config) for kind in kinds}
        optimisers = {k: torch.optim.Adam(m.parameters(), lr=config.lr) for k, m in models.items()}
        order = np.random.default_rng([config.seed, 7]).integers(
            0, config.train_pictures, (config.steps, config.batch)
        )
        train_loss = {k: np.empty(config.steps, np.float64) for k in kinds}
        eval_steps, eval_loss = [0], {k: [v] for k, v in _heldout(models, task).items()}
        start, cpu_start = time.perf_counter(), time.thread_time()
        for step in range(config.steps):
            index = torch.from_numpy(order[step])
            low, high = task.train_low[index], task.train_high[index]
            for kind, model in models.items():
                loss = F.mse_loss(model(low), high)
                optimisers[kind].zero_grad(set_to_none=True)
                loss.backward()
                optimisers[kind].step()
                train_loss[kind][step] = loss.item()
            done = step + 1
            if done % config.eval_every == 0 or done == config.steps:
                eval_steps.append(done)
                for kind, value in _heldout(models, task).items():
                    eval_loss[kind].append(value)
            if progress is not None:
                progress(
                    TinyProgress(done, config.steps, {k: v[step] for k, v in train_loss.items()})
                )
        seconds, cpu_seconds = time.perf_counter() - start, time.thread_time() - cpu_start
        for model in models.values():
            model.eval()
    return TinyRun(
        config=config,
        task=task,
        models=models,
        train_loss=train_loss,
        heldout_steps=np.asarray(eval_steps),
        heldout_loss={k: np.asarray(v) for k, v in eval_loss.items()},
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        kinds=tuple(kinds),
    )
