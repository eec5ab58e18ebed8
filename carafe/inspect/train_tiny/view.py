"""A live "Train a tiny CARAFE" run as plain numpy records.

:func:`train_tiny_view` trains CARAFE, bilinear and DySample side by side on the edge task of
:mod:`carafe.training.train_tiny` and returns a :class:`TinyView`: the loss curves, the three
outputs of one held-out picture, CARAFE's kernels of that picture, the pixels chosen from the
data (:mod:`carafe.inspect.train_tiny.pixels`) with their kernels, and how CARAFE's kernels
compare with bilinear's weights over the edge pixels. No Streamlit and no plotting here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from carafe.inspect.analysis import to_numpy
from carafe.inspect.catalog import display_name
from carafe.inspect.train_tiny.knobs import Knobs
from carafe.inspect.train_tiny.pixels import (
    EdgeSummary,
    PixelKernels,
    choose_pixels,
    edge_group,
    pixel_kernels,
)
from carafe.ops.geometry import Geometry
from carafe.training.train_tiny import (
    KINDS,
    TinyConfig,
    TinyProgress,
    TinyRun,
    deterministic,
    tiny_kinds,
    train_tiny,
)

__all__ = ["TinyView", "tiny_view", "train_tiny_view"]


@dataclass
class TinyView:
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
    edge_pixels: np.ndarray  # (n, 2) every edge pixel, in the order of choose_pixels
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


def tiny_view(run: TinyRun, picture: int = 0) -> TinyView:
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
    edges, beside, (fy, fx) = choose_pixels(geometry, low, target)
    edge_kernels = [
        dataclasses.replace(
            pixel_kernels("edge", geometry, kernels, low, target, y, x), beside=bool(b)
        )
        for (y, x), b in zip(edges, beside, strict=True)
    ]
    summary = EdgeSummary(
        edge_group([e for e, b in zip(edge_kernels, beside, strict=True) if b]),
        edge_group([e for e, b in zip(edge_kernels, beside, strict=True) if not b]),
    )
    return TinyView(
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


def extra_kinds() -> tuple[str, ...]:
    """The kinds a learner may add to the default three (FADE, SAPA, ...: the registry's)."""
    return tuple(k for k in tiny_kinds() if k not in KINDS)


def train_tiny_view(
    knobs: Knobs,
    progress: Callable[[float, str], None] | None = None,
    extra: tuple[str, ...] = (),
    **overrides,
) -> TinyView:
    """Train the three models (and the ``extra`` kinds) under ``knobs``; the page's record.

    ``progress(fraction, text)`` is called about 50 times during training, with a line giving
    the step and each model's training loss; ``overrides`` go to :meth:`Knobs.config`.
    """
    config = knobs.config(**overrides)
    every = max(1, config.steps // 50)

    def report(p: TinyProgress) -> None:
        if progress is not None and (p.step % every == 0 or p.step == p.steps):
            losses = ", ".join(f"{display_name(k)} {v:.4f}" for k, v in p.train_loss.items())
            progress(p.fraction, f"Step {p.step}/{p.steps}; training loss {losses}")

    return tiny_view(train_tiny(config, report, kinds=(*KINDS, *extra)))
