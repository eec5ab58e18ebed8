"""The benchmark's plumbing and honesty (not its numbers: speed is measured by
`python -m carafe.tools.bench`), plus the in-app case of issue 9: numbers taken right after the app's
analysis code ran must still be sane."""

import subprocess

import pytest
import torch

import carafe.tools.bench as bench
import carafe.tools.timing as timing
from carafe.assets import SAMPLES_DIR

TINY = bench.Case(1, 8, 6, 5, k=3, g=2, s=2)
FAKE_MS = {  # (direction, implementation) -> ms, all different so any mix-up shows
    ("forward", "op"): 2.0,
    ("forward", "reference"): 90.0,
    ("forward", "bilinear"): 0.5,
    ("forward+backward", "op"): 5.0,
    ("forward+backward", "reference"): 400.0,
    ("forward+backward", "bilinear"): 1.6,
}


def test_rows_put_each_time_in_its_column(monkeypatch):
    monkeypatch.setattr(bench, "QUICK_CASES", (TINY,))
    monkeypatch.setattr(bench, "interleaved_ms", lambda runners, repeats: dict(FAKE_MS))
    calls = []
    rows = bench.benchmark_rows(quick=True, repeats=1, progress=lambda *a: calls.append(a))
    assert calls == [(0, 1, "(1,8,6,5) k3 G2 s2"), (1, 1, "done")]
    assert [r["direction"] for r in rows] == ["forward", "forward+backward"]
    for row in rows:
        d = row["direction"]
        assert (row["op_ms"], row["reference_ms"], row["bilinear_ms"]) == (
            FAKE_MS[d, "op"],
            FAKE_MS[d, "reference"],
            FAKE_MS[d, "bilinear"],
        )
    assert rows[0]["speedup_vs_reference"] == pytest.approx(45.0)
    assert rows[1]["speedup_vs_reference"] == pytest.approx(80.0)
    assert rows[1]["op_vs_bilinear"] == pytest.approx(5.0 / 1.6)
    # the reference materialises k*k windows; the op allocates at most a few outputs' worth
    for row in rows:
        assert row["reference_peak_vs_output"] > row["op_peak_vs_output"] >= 1.0
    table = bench.format_table(rows)
    assert "op vs ref" in table.splitlines()[0] and len(table.splitlines()) == 4
    assert "| 45x |" in bench.format_table(rows, markdown=True)


def test_interleaved_timing_is_round_robin_after_warmup():
    order = []
    runners = {name: (lambda name=name: order.append(name)) for name in "abc"}
    times = timing.interleaved_ms(runners, {"a": 3, "b": 3, "c": 1}, warmup=2)
    assert set(times) == {"a", "b", "c"} and all(t >= 0 for t in times.values())
    assert order == ["a", "a", "b", "b", "c", "c"] + ["a", "b", "c", "a", "b", "a", "b"]


def test_thread_count_is_fixed_for_the_run_and_restored(monkeypatch):
    monkeypatch.setattr(bench, "QUICK_CASES", (TINY,))
    seen = []
    monkeypatch.setattr(
        bench,
        "interleaved_ms",
        lambda runners, repeats: seen.append(torch.get_num_threads()) or dict(FAKE_MS),
    )
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # what a caller such as carafe.inspect.analyze may leave
    try:
        rows = bench.benchmark_rows(quick=True, repeats=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert seen == [bench.default_threads()] and rows[0]["threads"] == bench.default_threads()


def test_busy_rows_start_one_neighbour_and_stop_it(monkeypatch):
    started = []
    real_popen = subprocess.Popen

    def popen(args, **kwargs):
        started.append(real_popen(args, **kwargs))
        return started[-1]

    phases = []

    def fake_ms(runners, repeats):
        running = bool(started) and started[0].poll() is None
        phases.append(running)
        ms = 9.0 if running else 3.0
        return dict.fromkeys(runners, ms)

    monkeypatch.setattr(bench.subprocess, "Popen", popen)
    monkeypatch.setattr(bench, "interleaved_ms", fake_ms)
    rows = bench.busy_rows(TINY, repeats=1)
    assert len(started) == 1 and started[0].args[-1] == bench.BUSY_LOOP
    assert started[0].poll() is not None  # stopped, not left running
    assert phases == [False, True, False]  # quiet, busy, quiet
    assert [r["busy_vs_quiet"] for r in rows] == [3.0, 3.0]
    table = bench.format_table(rows, columns=bench.BUSY_COLUMNS)
    assert "busy / quiet" in table and "3.00x" in table


def test_cli_prints_machine_limits_and_table(monkeypatch, capsys):
    monkeypatch.setattr(bench, "QUICK_CASES", (bench.Case(1, 4, 4, 4, k=3),))
    monkeypatch.setattr(
        bench, "machine_limits", lambda size_mb: {"copy_gbs": 10.0, "matmul_gflops": 100.0}
    )
    bench.main(["--quick", "--repeats", "1"])
    out = capsys.readouterr().out
    assert "copy bandwidth 10.0 GB/s" in out and "% copy BW" in out and "(1,4,4,4) k3" in out
    assert "onnxruntime" not in out  # --quick leaves the ONNX line out unless --onnx


def test_cli_busy_prints_quiet_and_busy_side_by_side(monkeypatch, capsys):
    monkeypatch.setattr(bench, "FULL_CASES", (bench.Case(1, 4, 4, 4, k=3),))
    bench.main(["--busy", "--repeats", "2"])
    out = capsys.readouterr().out
    assert "quiet ms" in out and "busy ms" in out and "(1,4,4,4) k3" in out
    assert out.count("forward") >= 2


def test_numbers_after_the_apps_analysis_are_sane():
    # Issue 9: on the app's Performance page, after the analysis code ran, forward came out
    # slower than forward+backward and only 5-7x over the reference.

    from carafe.inspect.analysis import analyze
    from carafe.inspect.imageio import load_image_file
    from carafe.models import load_pretrained

    sample = SAMPLES_DIR / "cat.jpg"
    analyze(load_pretrained("carafe"), load_image_file(sample).array)
    rows = bench.benchmark_rows(quick=True)
    for shape in {r["shape"] for r in rows}:
        by_direction = {r["direction"]: r for r in rows if r["shape"] == shape}
        assert by_direction["forward"]["op_ms"] <= by_direction["forward+backward"]["op_ms"]
        for row in by_direction.values():
            assert row["speedup_vs_reference"] >= 20, row
