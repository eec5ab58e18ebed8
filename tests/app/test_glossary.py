"""The glossary: every term the pages use defined once, short, and reachable from every page
(the sidebar's Glossary expander, drawn by app/main.py on every page)."""

from __future__ import annotations

from pathlib import Path

from carafe.inspect.glossary import TERMS, glossary_markdown
from tests.app.conftest import open_app

WANTED = (
    "entropy", "peak", "lean", "own-object / own-region share", "off-centre share",
    "moved control", "padding weight", "border ring / frame",
)  # fmt: skip
PAGES = sorted(p.stem for p in (Path(__file__).parents[2] / "app" / "app_pages").glob("*.py"))


def test_every_term_is_defined_once_and_short():
    assert set(WANTED) <= set(TERMS)
    for term, text in TERMS.items():
        assert text.strip() and len(text.split()) <= 45, term
    markdown = glossary_markdown()
    assert all(markdown.count(f"**{term}**") == 1 for term in TERMS)


def test_the_glossary_is_reachable_on_every_page():
    at = open_app()
    assert len(PAGES) >= 9
    for page in PAGES:
        at.switch_page(f"app_pages/{page}.py").run()  # the sidebar is drawn before the page
        boxes = [e for e in at.sidebar.expander if e.label == "Glossary"]
        assert len(boxes) == 1, page
        shown = " ".join(m.value for m in boxes[0].markdown)
        for term, text in TERMS.items():
            assert f"**{term}**: {text}" in shown, (page, term)
