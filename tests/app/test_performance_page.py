"""The Performance page: it opens with where CARAFE stands, worded from the counted and stored
numbers (no "lightweight" when its stored latency is the highest), and its live benchmark
shows the whole CARAFE upsampler beside the op, saying the op excludes kernel prediction."""

from __future__ import annotations

from tests.app.conftest import assert_clean, open_app


def test_performance_words_cost_and_time_from_the_numbers():
    from carafe.inspect.catalog import PAPER_CARAFE, load_metrics
    from carafe.inspect.performance import (
        cost_sentence,
        costs,
        latency_sentence,
        stored_latency,
    )

    at = open_app("performance")
    assert_clean(at)
    page = " ".join(m.value for m in at.markdown)
    metrics = load_metrics()
    latency = stored_latency(metrics)
    assert cost_sentence(*costs(PAPER_CARAFE["channels"], PAPER_CARAFE["config"])) in page
    if latency:
        assert latency_sentence(latency, metrics) in page
    if latency and max(latency, key=latency.get) == "carafe":
        assert "lightweight" not in page.lower()
    at.button(key="bench_run").click().run()
    assert_clean(at)
    (whole,) = [d.value for d in at.dataframe if "what is timed" in d.value.columns]
    assert "kernel prediction" in whole["what is timed"].iloc[0]
    assert "excludes kernel prediction" in page
    captions = [c.value for c in at.caption if c.value.startswith("Measured just now (input")]
    assert captions and "the rest is kernel prediction" in captions[0]
