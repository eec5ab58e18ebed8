"""The Performance page's numbers and words: what one upsampler costs against the others
(parameters, FLOPs, stored latency), each sentence worded from those numbers, and a live timing
of the whole CARAFE upsampler (kernel prediction included) beside its op alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from carafe.inspect.catalog import Table, display_name, twin_names
from carafe.nn import UPSAMPLERS, build_upsampler, upsampler_cost
from carafe.ops import carafe
from carafe.tools.timing import default_threads, interleaved_ms, torch_threads

__all__ = [
    "cost_sentence",
    "costs",
    "latency_sentence",
    "shown_kinds",
    "stored_latency",
    "whole_upsampler_timing",
]


def shown_kinds() -> list[str]:
    """The kinds the app shows: CARAFE, the shipped twins and the fixed baselines."""
    shipped = set(twin_names())
    return [
        k
        for k, entry in UPSAMPLERS.items()
        if k == "carafe" or k in shipped or entry.baseline is not None
    ]


def costs(channels: int, carafe_config: dict) -> tuple[dict[str, int], dict[str, int]]:
    """(parameters, FLOPs per input pixel) of one ×2 upsampler of each :func:`shown_kinds`."""
    params, flops = {}, {}
    for kind in shown_kinds():
        c = upsampler_cost(kind, channels, 2, **(carafe_config if kind == "carafe" else {}))
        params[kind], flops[kind] = int(c["params"]), int(c["flops_per_input_pixel"])
    return params, flops


def _names(kinds: list[str]) -> str:
    names = [display_name(k) for k in kinds]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def stored_latency(metrics: dict | None) -> dict[str, float]:
    """kind -> stored latency of one upsampler in ms (mean over seeds), from metrics.json."""
    out = {}
    for row in (metrics or {}).get("means", []):
        ms = row.get("upsampler_latency_ms")
        if ms is not None:
            out[row["upsampler"]] = float(ms)
    return out


def _order(value: dict[str, float], kind: str, less: str, more: str) -> str:
    """Which kinds ``kind`` is below (``less``) and above (``more``), by ``value``."""
    below = [k for k in value if k != kind and value[k] > value[kind]]
    above = [k for k in value if k != kind and value[k] < value[kind]]
    parts = []
    if below:
        parts.append(f"{less} {_names(below)}")
    if above:
        parts.append(f"{more} {_names(above)}")
    return (
        " and ".join(parts) if parts else f"the same as {_names([k for k in value if k != kind])}"
    )


def cost_sentence(params: dict[str, int], flops: dict[str, int], kind: str = "carafe") -> str:
    """Where ``kind`` stands in parameters and FLOPs among the kinds counted (one upsampler)."""
    if kind not in params or len(params) < 2:
        return ""
    name = display_name(kind)
    return (
        f"{name} has {params[kind]:,} parameters: "
        + _order(params, kind, "fewer than", "more than")
        + f". Per input pixel it costs {flops[kind]:,} FLOPs: "
        + _order(flops, kind, "fewer than", "more than")
        + "."
    )


def latency_sentence(latency: dict[str, float], metrics: dict | None = None) -> str:
    """Where CARAFE stands in stored time ("" without its latency or another to compare)."""
    kind = "carafe"
    if kind not in latency or len(latency) < 2:
        return ""
    shape = (metrics or {}).get("latency", {})
    where = ""
    if shape.get("input_shape"):
        threads = shape.get("threads")
        where = f" (input {'×'.join(map(str, shape['input_shape']))}" + (
            f", {threads} thread{'s' if threads != 1 else ''})" if threads else ")"
        )
    listed = ", ".join(
        f"{display_name(k)} {ms:.2f} ms" for k, ms in sorted(latency.items(), key=lambda kv: kv[1])
    )
    return (
        f"Stored latency of one upsampler{where}: {listed}. In time CARAFE is "
        + _order(latency, kind, "faster than", "slower than")
        + "."
    )


def whole_upsampler_timing(
    channels: int = 128, hw: int = 32, repeats: int = 9, threads: int | None = None
) -> Table:
    """Median forward ms of the whole CARAFE upsampler (the shipped options: compressor,
    content encoder, softmax and reassembly), of its op alone on those kernels, and of
    bilinear interpolation, timed round-robin on one (1, channels, hw, hw) map."""
    torch.manual_seed(0)
    module = build_upsampler(
        "carafe", channels, 2, **UPSAMPLERS["carafe"].default_options(channels)
    )
    module.eval()
    x = torch.randn(1, channels, hw, hw)
    with torch.no_grad():
        parts = module.forward_with_intermediates(x)
        k, g, masks = module.up_kernel, module.up_group, parts.kernels
    runners = {
        "whole": lambda: module(x),
        "op": lambda: carafe(x, masks, k, g, 2),
        "bilinear": lambda: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False),
    }
    with torch.no_grad(), torch_threads(threads or default_threads()):
        ms = interleaved_ms(runners, {name: repeats for name in runners})
    cols = ["what is timed", "forward (ms)", "share of the whole upsampler"]
    labels = {
        "whole": "whole CARAFE upsampler (kernel prediction + reassembly)",
        "op": "CARAFE op alone (reassembly; kernels given)",
        "bilinear": "bilinear interpolation",
    }
    rows = [dict(zip(cols, [labels[n], ms[n], ms[n] / ms["whole"]], strict=True)) for n in runners]
    return Table(cols, rows, caption=f"input (1, {channels}, {hw}, {hw}), ×2, forward only")
