"""The words the pages use, defined once each (shown from every page: the sidebar's Glossary).

Plain data, no Streamlit: ``TERMS`` maps each term, as the pages write it, to one short
definition. A page that measures something under another name should link here, not redefine.
"""

from __future__ import annotations

__all__ = ["TERMS", "glossary_markdown"]

TERMS: dict[str, str] = {
    "entropy": (
        "How spread a kernel's weights are: −Σ w·log w, in nats. 0 when one tap takes all the "
        "weight; log(k²) when all k² taps are equal (3.22 for a 5×5 kernel)."
    ),
    "peak": "A kernel's largest single weight: 1 when one tap takes all, 1/k² when uniform.",
    "lean": (
        "How far a kernel's weight centre sits from its window centre: the weighted mean tap "
        "offset (rows, cols), in input-map pixels, down and right positive."
    ),
    "own-object / own-region share": (
        "The kernel weight on taps of the output pixel's own object (a generated scene's true "
        "mask) or, on photos, its own colour region (a label-free segmentation), measured "
        "where the window holds more than one; never the model's predicted classes."
    ),
    "off-centre share": (
        "Of the weight a kernel puts off its centre tap, the part on the pixel's own object or "
        "region: a kernel cannot win it by keeping weight on the centre."
    ),
    "moved control": (
        "CARAFE's own kernels, each moved to another boundary pixel: the same shapes, blind to "
        "the content there. What CARAFE scores above it comes from reading the content."
    ),
    "padding weight": (
        "A kernel's weight on taps outside the image: past the map the op reads zeros, so that "
        "weight adds nothing to the output; in the band the model padded (its last row and "
        "column repeated) it reads copies of the border."
    ),
    "border ring / frame": (
        "Border ring: the outermost ring of output pixels that cover the image (Explore). "
        "Border frame: every output pixel whose k×k window reaches past the image (Compare, "
        "Sandbox). For k ≥ 3 the frame holds the ring and is wider: they are two measures."
    ),
}


def glossary_markdown() -> str:
    """The glossary as one markdown list, terms in bold."""
    return "\n".join(f"- **{term}**: {text}" for term, text in TERMS.items())
