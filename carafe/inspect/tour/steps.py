"""The guided tour's steps: which page each shows, its title and where to look.

The tour carries one output pixel from Explore through How it works to the Sandbox and back.
The sentence each step's banner shows is :mod:`carafe.inspect.tour.words`'. No Streamlit, no
drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["STEPS", "TourStep"]


@dataclass(frozen=True)
class TourStep:
    """One step of the tour: the page it shows, its title, where to look (an instruction, not
    a fact about the data) and, on How it works, which of its five stages to open."""

    key: str
    page: str  # "explore", "how_it_works" or "sandbox"
    title: str
    look: str
    stage: int | None = None
    pins: bool = False  # the step pins an edge pixel and a flat pixel on arrival


STEPS: tuple[TourStep, ...] = (
    TourStep(
        "kernel",
        "explore",
        "One pixel and its kernel",
        "The framed pixel on the image is the tour's pixel; its reassembly kernel is drawn on "
        "the right. The tour keeps this image point on every page.",
    ),
    TourStep(
        "edge",
        "explore",
        "The objects under its window",
        "Scroll down to *The same pixel, three ways*: CARAFE's kernel beside bilinear's and "
        "nearest's, on the same window, with the taps on another predicted object marked.",
    ),
    TourStep(
        "softmax",
        "how_it_works",
        "From logits to weights",
        "The softmax stage of How it works, for the same pixel: the k² logits the content "
        "encoder predicted become the kernel's weights.",
        stage=3,
    ),
    TourStep(
        "reassembly",
        "how_it_works",
        "Reassembly",
        "The last stage: the kernel multiplies the window of one feature channel and the "
        "products add up to the output value, next to bilinear's.",
        stage=4,
    ),
    TourStep(
        "sandbox",
        "sandbox",
        "Across the edge, in the Sandbox",
        "The Sandbox now holds a small copy of your image, with the profile line through your "
        "pixel's point, in the direction its kernel leans. Look at *Across the edge: a "
        "profile* below.",
    ),
    TourStep(
        "pins",
        "explore",
        "An edge pixel beside a flat pixel",
        "Back on Explore, scroll to the *Pinned pixels* panel (after *The same pixel, three "
        "ways*): an edge pixel and a flat pixel side by side, on one colour scale.",
        pins=True,
    ),
)
