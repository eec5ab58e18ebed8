"""carafe.inspect.performance: where CARAFE stands in cost and time, worded from the numbers
both ways, and the live timing of the whole upsampler beside its op."""

from __future__ import annotations

import pytest

from carafe.inspect.performance import (
    cost_sentence,
    costs,
    latency_sentence,
    shown_kinds,
    stored_latency,
    whole_upsampler_timing,
)


def test_latency_sentence_says_slower_where_carafe_is_slower():
    metrics = {"latency": {"input_shape": [1, 64, 64, 64], "threads": 1}}
    slow = latency_sentence(
        {"carafe": 7.9, "deconv": 6.19, "dysample": 2.29, "bilinear": 1.42}, metrics
    )
    assert "(input 1×64×64×64, 1 thread)" in slow
    assert "Bilinear 1.42 ms, DySample 2.29 ms, Deconv 6.19 ms, CARAFE 7.90 ms" in slow
    assert "CARAFE is slower than Deconv, DySample and Bilinear" in slow
    assert "faster" not in slow and "lightweight" not in slow
    fast = latency_sentence({"carafe": 1.0, "deconv": 6.19, "bilinear": 1.42})
    assert "CARAFE is faster than Deconv and Bilinear" in fast and "slower" not in fast
    middle = latency_sentence({"carafe": 3.0, "deconv": 6.19, "bilinear": 1.42})
    assert "faster than Deconv and slower than Bilinear" in middle
    assert latency_sentence({"bilinear": 1.0, "deconv": 2.0}) == ""  # no CARAFE latency
    assert latency_sentence({"carafe": 1.0}) == ""  # nothing to compare with


def test_stored_latency_reads_the_means():
    metrics = {
        "means": [
            {"upsampler": "carafe", "upsampler_latency_ms": 14.5},
            {"upsampler": "bilinear", "upsampler_latency_ms": 3.6},
            {"upsampler": "nearest"},
        ]
    }
    assert stored_latency(metrics) == {"carafe": 14.5, "bilinear": 3.6}
    assert stored_latency(None) == {}


def test_cost_sentence_both_ways():
    params = {"carafe": 74_148, "deconv": 590_080, "bilinear": 0}
    flops = {"carafe": 199_496, "deconv": 1_179_648, "bilinear": 7_168}
    text = cost_sentence(params, flops)
    assert "CARAFE has 74,148 parameters: fewer than Deconv and more than Bilinear" in text
    assert "199,496 FLOPs: fewer than Deconv and more than Bilinear" in text
    cheapest = cost_sentence({"carafe": 1, "deconv": 5}, {"carafe": 9, "deconv": 5})
    assert "parameters: fewer than Deconv." in cheapest and "FLOPs: more than Deconv." in cheapest
    assert cost_sentence({"carafe": 1}, {"carafe": 1}) == ""


def test_costs_cover_the_kinds_shown_with_the_registry_counts():
    from carafe.nn import upsampler_cost

    cfg = dict(up_kernel=5, encoder_kernel=3, compressed_channels=64)
    params, flops = costs(256, cfg)
    assert list(params) == shown_kinds() and "carafe" in params and "bilinear" in params
    assert params["carafe"] == 74_148 and flops["carafe"] == 199_496  # the paper's Table 1
    assert params["deconv"] == upsampler_cost("deconv", 256, 2)["params"]


def test_whole_upsampler_timing_includes_kernel_prediction():
    table = whole_upsampler_timing(channels=16, hw=8, repeats=3, threads=1)
    names = [r["what is timed"] for r in table.rows]
    assert "kernel prediction" in names[0] and "kernels given" in names[1]
    times = [r["forward (ms)"] for r in table.rows]
    assert all(t > 0 for t in times)
    assert table.rows[0]["share of the whole upsampler"] == pytest.approx(1.0)
    assert table.rows[1]["share of the whole upsampler"] == pytest.approx(times[1] / times[0])
