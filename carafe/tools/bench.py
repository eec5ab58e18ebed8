"""Benchmark of the CARAFE op: ``carafe-bench [--quick] [--markdown] [--busy]``.

For each shape and direction it prints the median time of the compiled op, the unfold-style
reference and bilinear interpolation (the cheapest upsampler, as a floor), the speed-ups, the
achieved memory bandwidth and FLOP rate as fractions of this machine's measured copy bandwidth
and matrix-multiply FLOP rate, and the peak memory each allocates relative to the output.
``--busy`` times the op on shape A with and without one CPU-bound process running beside it.

Honest numbers whatever state the caller left: every measurement runs with a fixed torch
thread count (by default one per CPU this process may use; restored afterwards), after
warm-up calls, and the implementations and directions of a shape are timed round-robin, so a
change of machine load during the run hits all of them alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from carafe import ops
from carafe.ops.reference import carafe_reference
from carafe.tools.timing import (
    default_threads,
    interleaved_ms,
    machine_limits,
    median_ms,
    peak_bytes,
    torch_threads,
)

__all__ = [
    "Case",
    "benchmark_rows",
    "busy_rows",
    "default_threads",
    "machine_limits",
    "main",
    "median_ms",
]


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


def _forward_backward(fn, features, masks, case: Case, grad_output):
    def run():
        fn(features, masks, case.k, case.g, case.s).backward(grad_output)
        features.grad = masks.grad = None  # freed inside the call, so memory is accounted

    return run


def _bilinear(features, masks, k, g, s):
    return F.interpolate(features, scale_factor=s, mode="bilinear", align_corners=False)


DIRECTIONS = ("forward", "forward+backward")


def _runners(case: Case) -> dict[tuple[str, str], Callable[[], object]]:
    """(direction, implementation) -> a call that runs it once on the case's inputs."""
    features, masks = case.inputs(requires_grad=False)
    f_grad, m_grad = case.inputs(requires_grad=True)
    grad_output = torch.randn(case.n, case.c, case.h * case.s, case.w * case.s, dtype=case.dtype)
    impls = {"op": ops.carafe, "reference": carafe_reference, "bilinear": _bilinear}
    runners = {}
    for name, fn in impls.items():
        runners["forward", name] = lambda fn=fn: fn(features, masks, case.k, case.g, case.s)
        runners["forward+backward", name] = _forward_backward(fn, f_grad, m_grad, case, grad_output)
    return runners


def measure_case(case: Case, repeats: int, limits: dict[str, float] | None) -> list[dict]:
    """Times op / reference / bilinear in both directions (round-robin); one row per direction."""
    runners = _runners(case)
    counts = {key: repeats if key[1] != "reference" else max(3, repeats // 4) for key in runners}
    times = interleaved_ms(runners, counts)
    return [
        _row(case, d, {i: times[d, i] for _, i in runners if _ == d}, runners, limits)
        for d in DIRECTIONS
    ]


def _row(case: Case, direction: str, times: dict[str, float], runners, limits) -> dict:
    backward = direction == "forward+backward"
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
    op_peak = peak_bytes(runners[direction, "op"])
    ref_peak = peak_bytes(runners[direction, "reference"])
    row = {
        "shape": case.label,
        "direction": direction,
        "threads": torch.get_num_threads(),
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
    threads: int | None = None,
) -> list[dict]:
    """Runs the benchmark and returns one dict per (shape, direction).

    Keys: shape, direction, threads, op_ms, reference_ms, bilinear_ms, speedup_vs_reference,
    op_vs_bilinear, op_gbs, op_gflops, op_peak_vs_output, reference_peak_vs_output, plus
    op_bw_fraction and op_flop_fraction when ``limits`` (from :func:`machine_limits`) are
    given. ``threads``: torch threads for the run (default :func:`default_threads`, whatever
    the caller had set; restored afterwards). ``progress(done, total, label)`` is called
    before each shape and at the end.
    """
    cases = QUICK_CASES if quick else FULL_CASES
    repeats = repeats or (9 if quick else 20)
    rows = []
    with torch_threads(threads or default_threads()):
        for i, case in enumerate(cases):
            if progress:
                progress(i, len(cases), case.label)
            rows += measure_case(case, repeats, limits)
    if progress:
        progress(len(cases), len(cases), "done")
    return rows


BUSY_LOOP = "while True: pass"


def busy_rows(
    case: Case | None = None, repeats: int = 30, threads: int | None = None
) -> list[dict]:
    """Times the op on ``case`` (default shape A) in both directions as the machine is, then
    with one CPU-bound process (``python -c "while True: pass"``) running beside it, then as
    it is again. Rows: shape, direction, threads, quiet_ms (median of both quiet rounds),
    busy_ms, busy_vs_quiet, load_before (1-minute load average when the run began)."""
    case = case or FULL_CASES[0]
    runners = _runners(case)
    op = {d: runners[d, "op"] for d in DIRECTIONS}
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with torch_threads(threads or default_threads()):
        quiet = [interleaved_ms(op, dict.fromkeys(op, repeats))]
        neighbour = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
        try:
            time.sleep(0.5)  # let it start and take its core
            busy = interleaved_ms(op, dict.fromkeys(op, repeats))
        finally:
            neighbour.kill()
            neighbour.wait()
        quiet.append(interleaved_ms(op, dict.fromkeys(op, repeats)))
        n_threads = torch.get_num_threads()
    rows = []
    for d in DIRECTIONS:
        quiet_ms = statistics.median([q[d] for q in quiet])
        rows.append(
            {
                "shape": case.label,
                "direction": d,
                "threads": n_threads,
                "quiet_ms": quiet_ms,
                "busy_ms": busy[d],
                "busy_vs_quiet": busy[d] / quiet_ms,
                "load_before": load_before,
            }
        )
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
BUSY_COLUMNS = (
    ("shape", "shape", "{}"),
    ("direction", "direction", "{}"),
    ("threads", "threads", "{}"),
    ("quiet ms", "quiet_ms", "{:.2f}"),
    ("busy ms", "busy_ms", "{:.2f}"),
    ("busy / quiet", "busy_vs_quiet", "{:.2f}x"),
)


def format_table(rows: list[dict], markdown: bool = False, columns=COLUMNS) -> str:
    """Renders rows as an aligned text table or a markdown table."""
    cols = [c for c in columns if c[1] in rows[0]]
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


def _print_busy(args) -> None:
    rows = busy_rows(repeats=args.repeats or 30, threads=args.threads)
    print(
        f"quiet vs busy: shape A, op only, {rows[0]['threads']} threads, median of "
        f"{args.repeats or 30} per phase; quiet = the machine as it was (1-min load average "
        f"{rows[0]['load_before']:.2f} at the start), busy = plus one `{BUSY_LOOP}` process"
    )
    print(format_table(rows, markdown=args.markdown, columns=BUSY_COLUMNS))


def _print_upsamplers(args, threads: int) -> None:
    from carafe.tools.bench_upsamplers import UPSAMPLER_COLUMNS, upsampler_rows

    rows = upsampler_rows(repeats=args.repeats or 15, threads=threads)
    print(
        "whole upsamplers (kernel prediction included), (1, 64, 64, 64) -> x2, guide "
        "(1, 64, 128, 128), median of repeats, round-robin in one run:"
    )
    print(format_table(rows, markdown=args.markdown, columns=UPSAMPLER_COLUMNS))


def _print_onnx(threads: int) -> None:
    from carafe.models import load_pretrained
    from carafe.tools.onnx_export import compare_latency

    with torch_threads(threads):
        r = compare_latency(load_pretrained("carafe"), size=512)
    print(
        f"shipped model (carafe) on a 512x512 image, CPU, {r['threads']} threads, median of 10: "
        f"PyTorch {r['torch_ms']:.1f} ms, onnxruntime {r['onnxruntime_ms']:.1f} ms "
        f"({r['onnxruntime_ms'] / r['torch_ms']:.2f}x PyTorch's; max |diff| "
        f"{r['max_abs_diff']:.1e})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="carafe-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small shape, a few seconds")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per measurement")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: one per usable CPU)"
    )
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument(
        "--busy", action="store_true", help="only shape A, quiet vs beside one CPU-bound process"
    )
    parser.add_argument(
        "--upsamplers",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="time every learned upsampler whole, beside bilinear (default: on without --quick)",
    )
    parser.add_argument(
        "--onnx",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="onnxruntime vs PyTorch latency of the shipped model (default: on without --quick)",
    )
    args = parser.parse_args(argv)
    threads = args.threads or default_threads()
    print(f"backend: {ops.backend()}; torch {torch.__version__}; float32; median of repeats")
    if args.busy:
        _print_busy(args)
        return
    with torch_threads(threads):
        limits = machine_limits(64 if args.quick else 256)
    print(
        f"machine: copy bandwidth {limits['copy_gbs']:.1f} GB/s (read+write), "
        f"matmul {limits['matmul_gflops']:.0f} GFLOP/s, {threads} threads"
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

    rows = benchmark_rows(
        quick=args.quick, progress=progress, repeats=args.repeats, limits=limits, threads=threads
    )
    if bar is not None:
        bar.close()
    print(format_table(rows, markdown=args.markdown))
    print(
        "Traffic counts the compulsory bytes (inputs read, output written; x2 with the backward "
        "pass); FLOPs are 2*k*k per output element (x3 with the backward pass). 'peak/out' is "
        "the peak memory torch allocated during the call divided by the output's size."
    )
    if args.upsamplers or (args.upsamplers is None and not args.quick):
        _print_upsamplers(args, threads)
    if args.onnx or (args.onnx is None and not args.quick):
        _print_onnx(threads)


if __name__ == "__main__":
    main()
