"""The benchmark's plumbing (not its numbers: speed is measured by `python -m carafe.bench`)."""

import carafe.bench as bench


def test_benchmark_rows_and_table(monkeypatch, capsys):
    monkeypatch.setattr(bench, "QUICK_CASES", (bench.Case(1, 8, 6, 5, k=3, g=2, s=2),))
    calls = []
    rows = bench.benchmark_rows(quick=True, repeats=1, progress=lambda *a: calls.append(a))
    assert [r["direction"] for r in rows] == ["forward", "forward+backward"]
    assert calls[0] == (0, 2, "(1,8,6,5) k3 G2 s2 forward") and calls[-1] == (2, 2, "done")
    for row in rows:
        assert row["op_ms"] > 0 and row["reference_ms"] > 0 and row["bilinear_ms"] > 0
        assert row["speedup_vs_reference"] == row["reference_ms"] / row["op_ms"]
        # the reference materialises k*k windows; the op allocates at most a few outputs' worth
        assert row["reference_peak_vs_output"] > row["op_peak_vs_output"] >= 1.0
    table = bench.format_table(rows)
    assert "op vs ref" in table.splitlines()[0] and len(table.splitlines()) == 4
    assert bench.format_table(rows, markdown=True).startswith("| shape |")


def test_cli_prints_machine_limits_and_table(monkeypatch, capsys):
    monkeypatch.setattr(bench, "QUICK_CASES", (bench.Case(1, 4, 4, 4, k=3),))
    monkeypatch.setattr(
        bench, "machine_limits", lambda size_mb: {"copy_gbs": 10.0, "matmul_gflops": 100.0}
    )
    bench.main(["--quick", "--repeats", "1"])
    out = capsys.readouterr().out
    assert "copy bandwidth 10.0 GB/s" in out and "% copy BW" in out and "(1,4,4,4) k3" in out
