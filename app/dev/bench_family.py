"""What the kernel family costs the app: the analyses of one 512×512 upload, before and now.

    cd app && python -m dev.bench_family [--repeats 5]

Before FADE and SAPA, an upload was analysed by CARAFE (with the untrained baselines) and by the
DySample twin (the same, for Compare's panel and Explore's points). Now CARAFE's analysis is the
same and every learned twin (DySample, FADE, SAPA) is analysed once, without the baselines the
current model's analysis already has, by a copy with BatchNorm folded into its convolutions. Both sets are timed round-robin in one run (medians, one
torch thread, as the app runs them). A benchmark, not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from carafe.inspect.analysis import analyze
from carafe.inspect.catalog import SUBJECT_KIND, kind_family, load_model, load_twin, twin_names


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--size", type=int, default=512)
    args = p.parse_args(argv)
    image = np.random.default_rng(0).integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
    learned = [k for k in twin_names() if kind_family(k) != "fixed"]
    models = {k: load_model(k) for k in [SUBJECT_KIND, *learned]}
    models |= {f"{k} twin": load_twin(k) for k in learned}  # what the app runs beside CARAFE
    peer = next(k for k in learned if kind_family(k) == "points")
    before = [(SUBJECT_KIND, True), (peer, True)]
    now = [(SUBJECT_KIND, True), *[(f"{k} twin", False) for k in learned]]
    runs = {"before": before, "now": now}
    for parts in runs.values():  # warm-up
        for kind, baselines in parts:
            analyze(models[kind], image, baselines=baselines)
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, parts in runs.items():
            samples[name].append(
                sum(
                    _seconds(lambda k=k, b=b: analyze(models[k], image, baselines=b))
                    for k, b in parts
                )
            )
    med = {name: statistics.median(v) for name, v in samples.items()}
    print(f"{args.size}×{args.size} upload, median of {args.repeats}, one thread")
    for name, parts in runs.items():
        what = " + ".join(f"{k}{'' if b else ' (no baselines)'}" for k, b in parts)
        print(f"{name:<7} {med[name]:6.2f} s  {what}")
    print(f"now / before: {med['now'] / med['before']:.2f}×")


if __name__ == "__main__":
    main()
