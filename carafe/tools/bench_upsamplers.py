"""Whole upsamplers timed side by side: every learned kind of the registry (kernel prediction
included, not only the reassembly op) and bilinear interpolation, in one round-robin run.

The shape is this project's finest FPN step on a 512×512 image: a (1, 64, 64, 64) map upsampled
×2, with the (1, 64, 128, 128) finer lateral as the guide of the guided kinds (FADE, SAPA).
Weights are each kind's default initialisation; the time does not depend on their values.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from carafe.nn import CONTROL_KIND, UPSAMPLERS, build_upsampler, run_upsampler
from carafe.tools.timing import default_threads, interleaved_ms, torch_threads

__all__ = ["UPSAMPLER_COLUMNS", "upsampler_rows"]

UPSAMPLER_COLUMNS = (
    ("upsampler", "upsampler", "{}"),
    ("direction", "direction", "{}"),
    ("threads", "threads", "{}"),
    ("ms", "ms", "{:.2f}"),
    ("× bilinear", "vs_bilinear", "{:.2f}x"),
)


def _runners(kind: str, channels: int, h: int, w: int) -> dict[str, Callable[[], object]]:
    torch.manual_seed(0)
    module = build_upsampler(kind, channels, 2, **UPSAMPLERS[kind].default_options(channels))
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, channels, h, w, generator=gen)
    guide = torch.randn(1, channels, 2 * h, 2 * w, generator=gen)
    x_grad, guide_grad = x.clone().requires_grad_(True), guide.clone().requires_grad_(True)
    grad_out = torch.randn(1, channels, 2 * h, 2 * w, generator=gen)

    def forward():
        with torch.no_grad():
            run_upsampler(kind, module, x, guide)

    def forward_backward():
        run_upsampler(kind, module, x_grad, guide_grad)[0].backward(grad_out)
        module.zero_grad(set_to_none=True)
        x_grad.grad = guide_grad.grad = None

    return {"forward": forward, "forward+backward": forward_backward}


def upsampler_rows(
    channels: int = 64,
    hw: tuple[int, int] = (64, 64),
    repeats: int = 15,
    threads: int | None = None,
) -> list[dict]:
    """One row per (kind, direction) for bilinear and every learned kind: median ms and the
    ratio to bilinear's median in the same run."""
    kinds = [CONTROL_KIND] + [k for k, e in UPSAMPLERS.items() if e.family != "fixed"]
    with torch_threads(threads or default_threads()):
        n_threads = torch.get_num_threads()
        runners = {
            (kind, d): run for kind in kinds for d, run in _runners(kind, channels, *hw).items()
        }
        times = interleaved_ms(runners, dict.fromkeys(runners, repeats))
    return [
        {
            "upsampler": UPSAMPLERS[kind].display_name,
            "direction": d,
            "threads": n_threads,
            "ms": times[kind, d],
            "vs_bilinear": times[kind, d] / times[CONTROL_KIND, d],
        }
        for kind, d in runners
    ]
