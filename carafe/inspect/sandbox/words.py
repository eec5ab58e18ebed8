"""The Sandbox page's sentences that state facts about the data, worded from the data.

Every function here takes the display layer's records (:mod:`carafe.inspect.sandbox.view`,
:mod:`.profile`, :mod:`.twin`) and returns markdown; the page shows what they return and
writes no such sentence itself. Sizes follow :data:`carafe.inspect.sandbox.view.SIZE_CONVENTION`
(H×W, rows × columns) everywhere. No drawing, no Streamlit.
"""

from __future__ import annotations

import numpy as np

from carafe.inspect.catalog import display_name
from carafe.inspect.habits import MOST
from carafe.inspect.records import StepAnalysis
from carafe.inspect.sandbox.profile import KernelOnLine, Profile
from carafe.inspect.sandbox.subpixel import FlatRegion
from carafe.inspect.sandbox.twin import SamplingOnLine, TwinView
from carafe.inspect.sandbox.view import SIZE_CONVENTION, OutsideCount, SandboxView, size_hw
from carafe.nn import UPSAMPLERS, upsampler_cost

__all__ = [
    "BY_POSITION",
    "FLAT_LINE",
    "ROUGHER",
    "STEEPER",
    "flat_area_sentence",
    "flat_headline",
    "flat_features_sentence",
    "kernels_caption",
    "kernels_follow",
    "kernels_sentence",
    "maps_caption",
    "maps_title",
    "no_flat_area_sentence",
    "number_word",
    "outside_sentence",
    "method_name",
    "profile_caption",
    "profile_headline",
    "profile_verdict",
    "roughness_sentence",
    "sampling_sentence",
    "split_phrase",
    "steepest_sentence",
    "step_sizes",
    "twin_sentence",
    "upload_note",
]

#: CARAFE's steepest change along the line is "clearly steeper" than bilinear's from this many
#: times bilinear's on (the Sandbox page and the tour's Sandbox step).
STEEPER = 1.2
#: The input map changes by less than this along the line: it is flat there, no step to keep.
FLAT_LINE = 1e-3
#: CARAFE's output in flat areas is "clearly rougher" than bilinear's from this many times
#: bilinear's roughness on: the grid texture.
ROUGHER = 1.2
#: In flat areas the sub-pixel kernels "change with the position in the block far more than
#: with the place" when they differ this many times more than neighbouring pixels' kernels.
BY_POSITION = 2.0

_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def number_word(n: int) -> str:
    """'four' for 4 (up to nine), digits beyond."""
    return _WORDS[n] if 0 <= n < len(_WORDS) else f"{n:,}"


def method_name(kind: str, step: StepAnalysis) -> str:
    """The name a method's panel, line and legend carry: its display name, with "(untrained)"
    where the page shows a learnable upsampler (parameters, not the model's own) with its fixed
    starting weights (the registry's baseline, e.g. deconv initialised to bilinear)."""
    name = display_name(kind)
    entry = UPSAMPLERS.get(kind)
    if entry is None or kind == step.kind or entry.baseline is None:
        return name
    cost = upsampler_cost(kind, int(step.input.shape[0]), step.scale)
    return f"{name} (untrained)" if cost["params"] > 0 else name


def maps_title(n_outputs: int) -> str:
    """The maps figure's title, counting the outputs it shows."""
    return f"The step's input and {number_word(n_outputs)} outputs, one colour scale"


def step_sizes(step: StepAnalysis, pad_multiple: int = 1) -> str:
    """The step's levels, strides and map sizes, naming the padded and the visible maps.

    The model pads the image (bottom / right, replicating its last row and column) to a
    multiple of ``pad_multiple`` px, so the maps it computes can be larger than the part that
    covers the image; the page draws the visible part only, and says so when the two differ.
    """
    geo = step.geometry
    full_in, full_out = (geo.H, geo.W), step.output_shape
    vis_in, vis_out = geo.visible_input_hw(), step.visible_output_hw()
    head = f"{step.levels} (stride {step.stride_in}→{step.stride_out}, {step.kind}); sizes are "
    head += f"{SIZE_CONVENTION}. "
    if (vis_in, vis_out) == (full_in, tuple(full_out)):
        return head + f"Input map {size_hw(full_in)} → output {size_hw(full_out)}."
    return head + (
        f"The model computes an input map of {size_hw(full_in)} → output {size_hw(full_out)} "
        f"(the padded maps: it pads the image by edge replication to a multiple of "
        f"{pad_multiple} px); "
        f"the visible maps, the part that covers the image and the only part drawn here, are "
        f"{size_hw(vis_in)} → {size_hw(vis_out)}."
    )


def split_phrase(count: OutsideCount) -> str:
    """'all 725 in the border frame' / '12 in the border frame, 3 in the interior' / ..."""
    if count.interior == 0:
        return f"all {count.frame:,} in the border frame"
    if count.frame == 0:
        return f"all {count.interior:,} in the interior"
    return f"{count.frame:,} in the border frame, {count.interior:,} in the interior"


def outside_sentence(view: SandboxView, names: dict[str, str]) -> str:
    """How many output pixels of each method leave the input map's range, and where."""
    total = int(view.frame.size)
    beyond = {m: c for m, c in view.outside.items() if c.total}
    if not beyond:
        return "; no output pixel leaves it."
    k = view.step.geometry.k
    parts = [
        f"{names.get(m, m)} {c.total:,} of {total:,} ({split_phrase(c)})" for m, c in beyond.items()
    ]
    text = (
        " unless it puts weight on zero padding at the border. Output pixels beyond the range "
        "(drawn in the end colours): " + "; ".join(parts) + ". The border frame is the "
        f"{int(view.frame.sum()):,} output pixels whose {k}×{k} window reaches past the image, "
        "where a kernel reads zero padding"
    )
    w = view.frame_weight_past_image
    if w is not None and "carafe" in view.outside:
        text += (
            f"; CARAFE's kernels there put on average **{w:.2f}** of their weight on taps "
            "past the image"
        )
    return text + "."


def flat_features_sentence(spread: float, s: int) -> str:
    """Why a texture can appear under flat windows, from the input's measured spread there."""
    start = (
        "If the features under a window were exactly constant, any kernel would return that "
        "constant and no texture could appear. "
    )
    if spread <= 1e-9:
        return start + (
            "Here they are: under the flat windows the input map does not vary on this page's "
            "scale, so the kernels' differences cannot make a texture."
        )
    return start + (
        "They are not: deep features also depend on what lies beyond the window, and under one "
        f"flat window the input map still varies by **{spread:.3f}** on this page's scale. "
        f"{s * s} different kernels weigh those small differences {s * s} different ways, and "
        f"the same {s * s} ways again in the next block: a pattern repeating every {s} output "
        "pixels."
    )


def kernels_sentence(kernels: list[KernelOnLine]) -> str:
    """Whether the kernels along the line follow the edge, from their weights on the high-side
    taps against bilinear's at the same pixels."""
    if not kernels:
        return ""
    sides = {}
    for label, on_high in (("low", False), ("high", True)):
        ks = [kv for kv in kernels if kv.on_high_side == on_high]
        if ks:
            sides[label] = (
                len(ks),
                float(np.mean([kv.high_weight for kv in ks])),
                float(np.mean([kv.bilinear_high_weight for kv in ks])),
            )
    parts = [
        f"at the {n} pixel{'s' if n != 1 else ''} on the {label} side CARAFE puts on average "
        f"**{c:.2f}** of its weight on the dotted taps (bilinear {b:.2f})"
        for label, (n, c, b) in sides.items()
    ]
    text = "Along this stretch, " + "; ".join(parts) + ". "
    if len(sides) < 2:
        return text + "All these pixels lie on one side of the line's range: no edge to follow."
    if kernels_follow(kernels):
        return text + (
            "On both sides CARAFE takes more weight from its own side than bilinear does: its "
            "kernels follow the edge."
        )
    return text + (
        "CARAFE does not take more weight from its own side than bilinear on both sides here."
    )


def kernels_follow(kernels: list[KernelOnLine] | None) -> bool | None:
    """Whether CARAFE's kernels along the line take more weight from their own side of the
    line's range than bilinear's, on both sides (None: no kernels, or all on one side). The
    kernel sentence and the profile verdict both read this one answer."""
    if not kernels:
        return None
    sides = {}
    for on_high in (False, True):
        ks = [kv for kv in kernels if kv.on_high_side == on_high]
        if not ks:
            return None
        sides[on_high] = (
            float(np.mean([kv.high_weight for kv in ks])),
            float(np.mean([kv.bilinear_high_weight for kv in ks])),
        )
    (c_low, b_low), (c_high, b_high) = sides[False], sides[True]
    return bool(c_low < b_low and c_high > b_high)


def upload_note(name: str, image_hw, notes: list[str]) -> str:
    """What became of an upload, every size in H×W (the loader's notes use H×W too)."""
    parts = list(notes)
    text = f"**{name}** as the model sees it: {size_hw(image_hw)} px ({SIZE_CONVENTION})"
    return text + ("; " + "; ".join(parts) if parts else "") + "."


def twin_sentence(twin: TwinView, view: SandboxView, names: dict[str, str]) -> str:
    """What the twin's panel shows, its own range and its out-of-range pixels, split."""
    name = names.get(twin.name, twin.name)
    total = int(view.frame.size)
    beyond = (
        f"{twin.outside.total:,} of {total:,} output pixels leave its own input map's range "
        f"({split_phrase(twin.outside)})"
        if twin.outside.total
        else "no output pixel leaves its own input map's range"
    )
    how = (
        "onto the line from colour A's mean feature (0) to colour B's (1) in its own features, "
        "measured on the same input-map pixels as CARAFE's"
        if twin.projection == "colours"
        else "onto its own input map's first principal component (0 and 1 at its 1st and 99th "
        "percentiles)"
    )
    return (
        f"{name} here is a separate model: the shipped twin trained with {name} as its "
        "upsampler, with its own backbone and FPN. It ran on the same pattern; its step "
        f"{twin.step.levels} is reduced the same way as CARAFE's, {how}. Drawn on CARAFE's "
        f"colour scale ({view.zmin:.2f} to {view.zmax:.2f}); its own input map spans "
        f"{twin.zmin:.2f} to {twin.zmax:.2f}. Its output samples its input map bilinearly at "
        "learned points clamped to the map, a weighted average with weights summing to 1: "
        f"{beyond}."
    )


def sampling_sentence(sampling: SamplingOnLine | None, name: str = "DySample") -> str:
    """How far the twin's points on the line moved from where bilinear would sample."""
    if sampling is None or len(sampling.pixels) == 0:
        return f"No {name} sampling points on this line."
    moved = sampling.moved
    groups = sampling.points.shape[1]
    return (
        f"Dots: where each of the {len(sampling.pixels)} output pixels on the line samples the "
        f"input map ({groups} point{'s' if groups != 1 else ''} per pixel, one per channel "
        f"group); rings: where bilinear would sample (each pixel's sub-pixel centre). The "
        f"points sit on average **{moved.mean():.2f}** input pixels from the ring, at most "
        f"{moved.max():.2f}."
    )


def maps_caption(view: SandboxView, names: dict[str, str]) -> str:
    """Under the maps figure: the projection, the one colour scale (the input's range, which no
    weighted average can leave) and the output pixels that leave it anyway."""
    return (
        view.projection_note
        + f" All {number_word(len(view.methods) + 1)} maps share the colour scale of the "
        f"input's range, {view.zmin:.2f} to {view.zmax:.2f}: each output here is a weighted "
        "average of input values with weights summing to 1, which cannot leave that range"
        + outside_sentence(view, names)
    )


def steepest_sentence(
    prof: Profile, names: dict[str, str], methods: list[str], twin: str | None = None
) -> str:
    """The largest change between neighbouring pixels along the line, of the input map and of
    each method (``twin``: the key of the separate model's values in the profile, if shown)."""
    jumps = ", ".join(f"{names[m]} **{prof.steepest[m]:.3f}**" for m in methods)
    if twin is not None:
        jumps += f"; {names[twin]} (separate model) **{prof.steepest[twin]:.3f}**"
    return (
        f"The line crosses {len(prof.pixels)} output pixels. Largest change between two "
        f"neighbouring pixels on it: input map **{prof.input_steepest:.3f}** (between "
        f"neighbouring input pixels); {jumps}."
    )


def _carafe_and_bilinear(prof: Profile) -> tuple[float, float]:
    return prof.steepest.get("carafe", 0.0), prof.steepest.get("bilinear", 0.0)


def profile_headline(prof: Profile, kernels: list[KernelOnLine] | None = None) -> str:
    """One line: whether CARAFE keeps the step the line crosses, or why the line cannot say.

    CARAFE "keeps the step" only when its steepest change is clearly steeper than bilinear's
    (:data:`STEEPER`) *and* its kernels around the input's largest jump take more weight from
    their own side than bilinear's (:func:`kernels_follow`; not checked when ``kernels`` is
    None). A steeper change without kernels that follow the edge is said as such: CARAFE's
    output also varies between neighbouring pixels where the input does not (flat areas).
    """
    c, b = _carafe_and_bilinear(prof)
    if prof.pattern_values is not None and not prof.crosses_pattern:
        return (
            "This line does not cross the pattern's boundary: the changes along it come from "
            "the features alone (the image is one colour here). Move the line across the edge."
        )
    if prof.input_steepest < FLAT_LINE:
        return "The input map is flat along this line: there is no step to keep."
    if not prof.crosses_pattern:
        return f"CARAFE's steepest change on this line is {c / max(b, 1e-12):.1f}× bilinear's."
    if c > STEEPER * b:
        follows = True if kernels is None else kernels_follow(kernels)
        if follows:
            return (
                f"Here CARAFE keeps the step: its steepest change is **{c / b:.1f}×** bilinear's."
            )
        why = (
            "its kernels around the input's largest jump do not take more weight from their "
            "own side than bilinear's"
            if follows is False
            else "the kernels shown lie on one side of the jump, so they cannot show it"
        )
        return (
            f"CARAFE's steepest change on this line is **{c / b:.1f}×** bilinear's, but "
            f"{why}: this line does not show CARAFE keeping the step."
        )
    return f"Here CARAFE is **not** clearly steeper than bilinear ({c:.3f} vs {b:.3f})."


def profile_verdict(prof: Profile, kernels: list[KernelOnLine] | None = None) -> str:
    """:func:`profile_headline` and, under it, why (or what to try instead)."""
    head = profile_headline(prof, kernels)
    if head.startswith("Here CARAFE keeps the step"):
        return head + (
            " Bilinear's weights are fixed by position, so each jump of the input is shared "
            "out over the output pixels between two input pixels: a ramp. CARAFE chooses its "
            "weights per output pixel; the kernels below show where each one takes them from."
        )
    if head.startswith("CARAFE's steepest change on this line is **"):
        return head + (
            " Its output also jumps between neighbouring pixels where the input does not (see "
            "the flat areas), and such a jump can be its steepest."
        )
    if head.startswith("Here CARAFE is **not**"):
        return head + " Pick a finer step in the sidebar or move the line."
    return head


def profile_caption(prof: Profile, twin_title: str | None = None) -> str:
    """Under the profile: why a weighted average stays in range and can still step more
    steeply than the input map, and what the figure's lines are (``twin_title``: the separate
    model's name when it is drawn)."""
    c, _ = _carafe_and_bilinear(prof)
    return (
        "Every output is a weighted average of the input under its window (weights summing "
        "to 1), so it stays within the range of those input values. "
        + (
            f"A step can still come out steeper than the input map's own largest jump (here "
            f"CARAFE {c:.3f} vs input {prof.input_steepest:.3f}): two neighbouring output "
            "pixels may take their weight from input pixels further apart than one."
            if c > prof.input_steepest
            else "Here CARAFE's steepest change stays below the input map's largest jump."
        )
        + " Grey band: the input map (each input pixel covers several output pixels); dotted: "
        "the pattern itself, exactly along the line"
        + (f"; dashed: {twin_title}, a separate model." if twin_title is not None else ".")
    )


def kernels_caption(kernels: list[KernelOnLine], k: int) -> str:
    """Under the kernels along the line: what they are and whether they follow the edge."""
    return (
        f"CARAFE's {k}×{k} kernels at {len(kernels)} consecutive "
        "output pixels of the line, around the input's largest jump. A white dot marks a tap "
        "whose input lies on the high side of the line's range; each title gives the "
        "kernel's weight on the dotted taps and bilinear's at the same pixel (fixed by its "
        "position). " + kernels_sentence(kernels)
    )


def no_flat_area_sentence(view: SandboxView) -> str:
    """Said instead of the flat-area measures when no window lies on one colour."""
    return (
        f"At this step {view.pixels.sentence()}, so there is no flat area to measure: pick a "
        "finer step or a bigger pattern."
    )


def flat_area_sentence(view: SandboxView, s: int) -> str:
    """CARAFE's kernels and output in flat areas, from the flat-area measures of ``view``
    (not None): how much the s² sub-pixel kernels differ against neighbouring pixels' kernels
    (:data:`BY_POSITION`), and how rough each method's output is there (:data:`ROUGHER`)."""
    flat = view.flat
    by_position = (
        flat.neighbour_difference is not None
        and flat.subpixel_difference > BY_POSITION * flat.neighbour_difference
    )
    neighbour = (
        f"; the same sub-pixel's kernel at a neighbouring flat input pixel differs by "
        f"{'only ' if by_position else ''}**{flat.neighbour_difference:.0%}**"
        if flat.neighbour_difference is not None
        else ""
    )
    return (
        f"Each input pixel predicts **s² = {s * s}** kernels, one for each output pixel of its "
        f"{s}×{s} block. On the **{flat.pixels:,}** input pixels whose whole window lies on "
        f"one colour ({view.pixels.sentence()}), these kernels differ: from one sub-pixel's "
        "kernel to another's, "
        f"**{flat.subpixel_difference:.0%}** of the weight moves to other taps on average "
        f"(bilinear's {s * s} sub-pixel kernels differ by {flat.bilinear_subpixel_difference:.0%})"
        f"{neighbour}."
        + (
            " So in flat areas the kernels change with the position in the block far more "
            "than with the place.\n\n"
            if by_position
            else "\n\n"
        )
        + flat_features_sentence(flat.input_spread, s)
        + " "
        + roughness_sentence(flat, s)
    )


def _rough_ratio(flat: FlatRegion, method: str) -> float | None:
    r = flat.roughness
    base = r.get(method, 0.0)
    return r.get("carafe", 0.0) / base if base > 0 else None


def roughness_sentence(flat: FlatRegion, s: int) -> str:
    """Each method's roughness in flat areas, whether CARAFE's is clearly above bilinear's
    (:data:`ROUGHER`) and how much of CARAFE's variation inside the s×s blocks repeats in every
    block (a grid texture proper, :attr:`FlatRegion.repeating`)."""
    r = flat.roughness
    text = (
        "Roughness there (mean |second difference| along rows and columns): CARAFE "
        f"**{r.get('carafe', 0):.4f}**, bilinear {r.get('bilinear', 0):.4f}, nearest "
        f"{r.get('nearest', 0):.4f} (its blocks), deconv {r.get('deconv', 0):.4f}. "
    )
    ratio = _rough_ratio(flat, "bilinear")
    if ratio is None or ratio <= ROUGHER:
        return text + "Here CARAFE's output is not clearly rougher than bilinear's."
    text += f"CARAFE's output is **{ratio:.1f}×** as rough as bilinear's there"
    near = _rough_ratio(flat, "nearest")
    if near is not None:
        if near > ROUGHER:
            text += f", and {near:.1f}× nearest's"
        elif near >= 1 / ROUGHER:
            text += ", about as rough as nearest's"
        else:
            text += ", smoother than nearest's"
    text += ". " + _repeating_clause(flat, s)
    return text


def _repeating_clause(flat: FlatRegion, s: int) -> str:
    rep = (flat.repeating or {}).get("carafe")
    if rep is None:
        return ""
    if rep > MOST:
        return (
            f"Most of its variation inside the {s}×{s} blocks (**{rep:.0%}**) repeats the same "
            "way in every block: a grid texture."
        )
    return (
        f"Only **{rep:.0%}** of its variation inside the {s}×{s} blocks repeats the same way in "
        "every block (a grid texture); the rest changes from block to block with the features."
    )


def flat_headline(view: SandboxView, s: int) -> str:
    """One line on CARAFE in the flat areas, from the same measures as
    :func:`roughness_sentence`."""
    flat = view.flat
    if flat is None:
        return "No window lies on one colour at this step: no flat area to measure."
    ratio = _rough_ratio(flat, "bilinear")
    if ratio is None or ratio <= ROUGHER:
        r = flat.roughness
        return (
            f"In flat areas CARAFE is not clearly rougher than bilinear "
            f"({r.get('carafe', 0):.3f} vs {r.get('bilinear', 0):.3f})."
        )
    text = f"In flat areas CARAFE's output is **{ratio:.1f}×** as rough as bilinear's"
    rep = (flat.repeating or {}).get("carafe")
    if rep is not None:
        text += f"; {rep:.0%} of its variation inside the {s}×{s} blocks repeats in every block"
    return text + "."
