"""What a learner reads: every page opens with at most 300 visible prose words (the rest waits in
expanders and later tabs), counted on the rendered page with the default sample."""

from __future__ import annotations

import pytest

from tests.app.conftest import assert_clean, open_app
from tests.app.prose import count_words, visible_prose_words

BUDGET = 300
PAGES = [
    "explore", "compare", "sandbox", "learning", "network", "performance", "train_tiny",
    "compressed",
]  # fmt: skip


def test_count_words_ignores_markup_numbers_and_link_targets():
    assert count_words("**Bold** word, 0.88 and 12 px $k^2$ [link](https://x.y/z) <b>tag</b>") == 6


@pytest.mark.parametrize("page", PAGES)
def test_page_opens_within_the_word_budget(page):
    at = open_app(page)
    assert_clean(at)
    words = visible_prose_words(at)
    assert 0 < words <= BUDGET, f"{page} shows {words} prose words (budget {BUDGET})"


def test_how_it_works_every_stage_within_the_budget():
    at = open_app("how_it_works")
    for stage in range(5):
        assert at.session_state["hiw_stage"] == stage if stage else True
        assert_clean(at)
        words = visible_prose_words(at)
        assert 0 < words <= BUDGET, f"How it works, stage {stage + 1}: {words} words"
        if stage < 4:
            at.button(key="hiw_next").click().run()
    assert at.session_state["hiw_stage"] == 4


@pytest.mark.parametrize("page", ["explore", "compare", "network"])
def test_a_photo_with_its_photo_model_stays_within_the_budget(page):
    at = open_app()
    at.session_state["sample"] = "coffee.jpg"  # a held-out photo: the photo model runs
    at.run()
    if page != "explore":
        at.switch_page(f"app_pages/{page}.py").run()
    assert_clean(at)
    words = visible_prose_words(at)
    assert 0 < words <= BUDGET, f"{page} on a photo shows {words} prose words (budget {BUDGET})"
