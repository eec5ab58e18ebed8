"""Timing tools for the benchmark: medians timed round-robin after warm-up, a fixed torch
thread count restored afterwards, peak memory from the profiler, the machine's copy bandwidth
and matmul rate."""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable

import torch
from torch.profiler import ProfilerActivity, profile

__all__ = [
    "default_threads",
    "interleaved_ms",
    "machine_limits",
    "median_ms",
    "peak_bytes",
    "torch_threads",
]


def median_ms(fn: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    """Median wall time of fn() in milliseconds, after ``warmup`` warm-up calls."""
    return interleaved_ms({"fn": fn}, {"fn": repeats}, warmup)["fn"]


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved_ms(
    runners: dict[str, Callable[[], object]], repeats: dict[str, int], warmup: int = 2
) -> dict[str, float]:
    """Median milliseconds of each runner, timed round-robin (one call of each per round) after
    ``warmup`` calls of each, so load that comes and goes affects every runner alike."""
    for run in runners.values():
        for _ in range(warmup):
            run()
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for i in range(max(repeats.values())):
        for name, run in runners.items():
            if i < repeats[name]:
                samples[name].append(_seconds(run))
    return {name: statistics.median(times) * 1e3 for name, times in samples.items()}


def default_threads() -> int:
    """One torch thread per CPU this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def torch_threads(n: int):
    """torch.set_num_threads(n) for the block; the caller's setting is restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


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
