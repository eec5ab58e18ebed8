"""Counting what a learner reads: the visible prose words of a page's main area under AppTest.

Visible means not inside a collapsed expander, not in a tab other than the first of its group,
and not in the sidebar. Prose is every text element (markdown, captions, headings, alerts, plain
text); a word is a token with at least one letter, after markdown, HTML and LaTeX markup are
stripped, so numbers and symbols do not count. Figures, tables and widget labels are not prose.
"""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

__all__ = ["count_words", "visible_prose", "visible_prose_words"]

_TEXT_TYPES = {
    "markdown", "caption", "latex", "text", "title", "header", "subheader", "heading",
    "info", "warning", "success", "error", "exception",
}  # fmt: skip
_TAG = re.compile(r"<[^>]+>")
_LATEX = re.compile(r"\$[^$]*\$")
_LINK = re.compile(r"\]\([^)]*\)")  # keep a link's text, drop its target


def count_words(text: str) -> int:
    """Words of ``text`` as a reader sees them (see the module docstring)."""
    text = _LINK.sub("]", _LATEX.sub(" ", _TAG.sub(" ", text)))
    return sum(1 for token in text.split() if re.search(r"[A-Za-z]", token))


def _texts(node, out: list[str]) -> None:
    node_type = getattr(node, "type", "")
    if node_type in ("expandable", "expander"):
        expanded = getattr(getattr(node, "proto", None), "expanded", False)
        if not expanded:
            return
    children = getattr(node, "children", None)
    if children is not None:
        tabs = [c for c in children.values() if getattr(c, "type", "") == "tab"]
        for child in children.values():
            if getattr(child, "type", "") == "tab" and child is not tabs[0]:
                continue  # later tabs are read on demand
            _texts(child, out)
        return
    if node_type in _TEXT_TYPES:
        value = getattr(node, "value", "")
        if isinstance(value, str):
            out.append(value)


def visible_prose(at: AppTest) -> list[str]:
    """The visible text elements of the page's main area, in order."""
    out: list[str] = []
    _texts(at.main, out)
    return out


def visible_prose_words(at: AppTest) -> int:
    """How many prose words the page's main area shows before anything is expanded."""
    return sum(count_words(text) for text in visible_prose(at))
