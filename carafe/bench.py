"""Benchmark of the CARAFE op: ``python -m carafe.bench [--quick] [--markdown]``.

For each shape and direction it prints the median time of the compiled op, the unfold-style
reference and bilinear interpolation (the cheapest upsampler, as a floor), the speed-ups, the
achieved memory bandwidth and FLOP rate as fractions of this machine's measured copy bandwidth
and matrix-multiply FLOP rate, and the peak memory each allocates relative to the output.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from carafe import ops
from carafe.reference import carafe_reference

__all__ = ["Case", "benchmark_rows", "machine_limits", "main"]


@dataclass(frozen=True)
class Case:
    """One benchmark shape: features (n, c, h, w), kernel k, groups g, scale s."""

    n: int
    c: int
    h: int
    w: int
    k: int = 5
    g: int = 1
    s: int = 2
    dtype: torch.dtype = torch.float32

    @property
    def label(self) -> str:
        return f"({self.n},{self.c},{self.h},{self.w}) k{self.k} G{self.g} s{self.s}"

    @property
    def output_numel(self) -> int:
        return self.n * self.c * self.h * self.w * self.s * self.s

    def inputs(self, requires_grad: bool = False):
        gen = torch.Generator().manual_seed(0)
        features = torch.randn(self.n, self.c, self.h, self.w, generator=gen, dtype=self.dtype)
        masks = (
            torch.randn(
                self.n,
                self.g,
                self.k * self.k,
                self.h * self.s,
                self.w * self.s,
                generator=gen,
                dtype=self.dtype,
            )
            .softmax(2)
            .flatten(1, 2)
        )
        return features.requires_grad_(requires_grad), masks.requires_grad_(requires_grad)


FULL_CASES = (
    Case(1, 256, 64, 64),  # shape A: an FPN level of a 512x512 image
    Case(2, 256, 32, 32),
    Case(1, 64, 128, 128),  # this project's FPN width
    Case(1, 256, 32, 32, k=7, g=4, s=2),
    Case(1, 128, 32, 32, k=5, g=1, s=4),
)
QUICK_CASES = (Case(1, 128, 32, 32),)


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of fn() in milliseconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


@contextlib.contextmanager
def _silenced_stderr():
    """The profiler's C++ side logs start/stop lines straight to fd 2; keep the table clean."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def peak_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes allocated by torch while fn() runs (from the profiler's allocation events)."""
    with (
        _silenced_stderr(),
        profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof,
    ):
        fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    current = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        current += event.nbytes()
        peak = max(peak, current)
    return peak


def machine_limits(size_mb: int = 256) -> dict[str, float]:
    """This machine's copy bandwidth (GB/s, bytes read + written) and float32 matmul GFLOP/s."""
    src = torch.empty(size_mb * 2**20 // 4)
    src.uniform_()
    dst = torch.empty_like(src)
    copy_ms = median_ms(lambda: dst.copy_(src), 5)
    a = torch.randn(2048, 2048)
    b = torch.randn(2048, 2048)
    mm_ms = median_ms(lambda: a @ b, 5)
    return {
        "copy_gbs": 2 * src.numel() * 4 / copy_ms / 1e6,
        "matmul_gflops": 2 * 2048**3 / mm_ms / 1e6,
    }


def _forward_backward(fn, features, masks, case: Case, grad_output):
    def run():
        fn(features, masks, case.k, case.g, case.s).backward(grad_output)
        features.grad = masks.grad = None  # freed inside the call, so memory is accounted

    return run


def _bilinear(features, masks, k, g, s):
    return F.interpolate(features, scale_factor=s, mode="bilinear", align_corners=False)


def measure(case: Case, direction: str, repeats: int, limits: dict[str, float] | None) -> dict:
    """Times op / reference / bilinear for one case and direction; returns one table row."""
    backward = direction == "forward+backward"
    features, masks = case.inputs(requires_grad=backward)
    grad_output = torch.randn(case.n, case.c, case.h * case.s, case.w * case.s, dtype=case.dtype)
    impls = {"op": ops.carafe, "reference": carafe_reference, "bilinear": _bilinear}
    runners = {}
    for name, fn in impls.items():
        if backward:
            runners[name] = _forward_backward(fn, features, masks, case, grad_output)
        else:
            runners[name] = lambda fn=fn: fn(features, masks, case.k, case.g, case.s)
    times = {
        name: median_ms(run, repeats if name != "reference" else max(3, repeats // 4))
        for name, run in runners.items()
    }
    item = torch.finfo(case.dtype).bits // 8
    out_bytes = case.output_numel * item
    # Compulsory traffic: read features and masks, write the output (and the same again,
    # plus both gradients, for the backward pass).
    mask_bytes = case.output_numel // case.c * case.g * case.k**2 * item
    feat_bytes = out_bytes // case.s**2
    traffic = feat_bytes + mask_bytes + out_bytes
    flops = 2 * case.k**2 * case.output_numel
    if backward:
        traffic *= 2
        flops *= 3
    op_peak = peak_bytes(runners["op"])
    ref_peak = peak_bytes(runners["reference"])
    row = {
        "shape": case.label,
        "direction": direction,
        "op_ms": times["op"],
        "reference_ms": times["reference"],
        "bilinear_ms": times["bilinear"],
        "speedup_vs_reference": times["reference"] / times["op"],
        "op_vs_bilinear": times["op"] / times["bilinear"],
        "op_gbs": traffic / times["op"] / 1e6,
        "op_gflops": flops / times["op"] / 1e6,
        "op_peak_vs_output": op_peak / out_bytes,
        "reference_peak_vs_output": ref_peak / out_bytes,
    }
    if limits:
        row["op_bw_fraction"] = row["op_gbs"] / limits["copy_gbs"]
        row["op_flop_fraction"] = row["op_gflops"] / limits["matmul_gflops"]
    return row


def benchmark_rows(
    quick: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
    repeats: int | None = None,
    limits: dict[str, float] | None = None,
) -> list[dict]:
    """Runs the benchmark and returns one dict per (shape, direction).

    Keys: shape, direction, op_ms, reference_ms, bilinear_ms, speedup_vs_reference,
    op_vs_bilinear, op_gbs, op_gflops, op_peak_vs_output, reference_peak_vs_output, plus
    op_bw_fraction and op_flop_fraction when ``limits`` (from :func:`machine_limits`) are
    given. ``progress(done, total, label)`` is called before each measurement and at the end.
    """
    cases = QUICK_CASES if quick else FULL_CASES
    repeats = repeats or (5 if quick else 20)
    jobs = [(case, direction) for case in cases for direction in ("forward", "forward+backward")]
    rows = []
    for i, (case, direction) in enumerate(jobs):
        if progress:
            progress(i, len(jobs), f"{case.label} {direction}")
        rows.append(measure(case, direction, repeats, limits))
    if progress:
        progress(len(jobs), len(jobs), "done")
    return rows


COLUMNS = (  # header, key, format
    ("shape", "shape", "{}"),
    ("direction", "direction", "{}"),
    ("op ms", "op_ms", "{:.2f}"),
    ("reference ms", "reference_ms", "{:.1f}"),
    ("bilinear ms", "bilinear_ms", "{:.2f}"),
    ("op vs ref", "speedup_vs_reference", "{:.0f}x"),
    ("op / bilinear", "op_vs_bilinear", "{:.1f}x"),
    ("GB/s", "op_gbs", "{:.1f}"),
    ("% copy BW", "op_bw_fraction", "{:.0%}"),
    ("GFLOP/s", "op_gflops", "{:.1f}"),
    ("% matmul", "op_flop_fraction", "{:.0%}"),
    ("op peak/out", "op_peak_vs_output", "{:.2f}"),
    ("ref peak/out", "reference_peak_vs_output", "{:.1f}"),
)


def format_table(rows: list[dict], markdown: bool = False) -> str:
    """Renders rows as an aligned text table or a markdown table."""
    cols = [c for c in COLUMNS if c[1] in rows[0]]
    cells = [[fmt.format(row[key]) for _, key, fmt in cols] for row in rows]
    headers = [h for h, _, _ in cols]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(r) + " |" for r in cells]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small shape, a few seconds")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per measurement")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    limits = machine_limits(64 if args.quick else 256)
    print(
        f"backend: {ops.backend()}; torch {torch.__version__}; {torch.get_num_threads()} "
        f"threads; float32; median of repeats"
    )
    print(
        f"machine: copy bandwidth {limits['copy_gbs']:.1f} GB/s (read+write), "
        f"matmul {limits['matmul_gflops']:.0f} GFLOP/s"
    )
    try:
        from tqdm import tqdm

        bar = tqdm(total=None, leave=False, unit="case", disable=not sys.stderr.isatty())
    except ImportError:  # tqdm is a dependency, but a bar is not worth failing over
        bar = None

    def progress(done, total, label):
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.set_description(label)
            bar.refresh()

    rows = benchmark_rows(quick=args.quick, progress=progress, repeats=args.repeats, limits=limits)
    if bar is not None:
        bar.close()
    print(format_table(rows, markdown=args.markdown))
    print(
        "Traffic counts the compulsory bytes (inputs read, output written; x2 with the backward "
        "pass); FLOPs are 2*k*k per output element (x3 with the backward pass). 'peak/out' is "
        "the peak memory torch allocated during the call divided by the output's size."
    )


if __name__ == "__main__":
    main()
