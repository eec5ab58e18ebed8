"""The sentences of "Watch CARAFE learn", worded from the numbers ``carafe-evaluate
--snapshots`` stored for the training snapshots (:mod:`carafe.inspect.learning.snapshots`):
when the kernels become content-aware, and how the border kernels' weight on zero padding
evolves. No Streamlit, no plotting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from carafe.inspect.habits import MOST
from carafe.inspect.learning.snapshots import SnapshotMetrics, padding_series

__all__ = [
    "BORDER_CHANGE",
    "CONTENT_MARGIN",
    "border_padding_sentence",
    "content_aware_headline",
    "content_aware_sentence",
    "lean_sentence",
]

#: CARAFE's off-centre own-object share must beat its content-blind control by this much (a
#: share of the kernel's weight) before we call the kernels content-aware. At random init the
#: two differ by about 1e-5; 0.05 is far above that and is what a reader can see on the curve.
CONTENT_MARGIN = 0.05
#: A change of the border padding weight smaller than this is called "about the same".
BORDER_CHANGE = 0.05


def _bilinear_clause(usable: Sequence[SnapshotMetrics]) -> str:
    pairs = [
        (s, s.off_centre_own_share.carafe, s.off_centre_own_share.bilinear)
        for s in usable
        if s.off_centre_own_share.bilinear is not None
    ]
    if not pairs:
        return ""
    passed = next(((s, c, b) for s, c, b in pairs if c > b), None)
    if passed:
        s, c, b = passed
        return (
            f" CARAFE's off-centre share first passes bilinear's fixed kernel at step {s.steps_done} "
            f"({c:.3f} against bilinear's {b:.3f})."
        )
    s, c, b = max(pairs, key=lambda p: p[1])
    return (
        f" CARAFE's off-centre share never passes bilinear's fixed kernel: its highest is {c:.3f} at step "
        f"{s.steps_done}, against bilinear's {b:.3f}."
    )


def content_aware_sentence(
    snapshots: Sequence[SnapshotMetrics], margin: float = CONTENT_MARGIN
) -> str:
    """When the kernels become content-aware, worded from the stored shares.

    Content-aware here: CARAFE's kernel weight off the centre tap on the output pixel's own
    object beats the same kernels moved to other boundary pixels (the content-blind control)
    by at least ``margin``. The first such snapshot is named, whether the gap then holds, and
    when CARAFE's off-centre share first passes bilinear's fixed kernel.
    """
    usable = [
        s
        for s in sorted(snapshots, key=lambda s: s.steps_done)
        if s.off_centre_own_share.carafe is not None
        and s.off_centre_own_share.carafe_moved is not None
    ]
    if not usable:
        return (
            "The stored snapshots hold no off-centre own-object shares of CARAFE and of its "
            "content-blind control, so the numbers cannot say when the kernels become "
            "content-aware."
        )

    def gap(s: SnapshotMetrics) -> float:
        return s.off_centre_own_share.carafe - s.off_centre_own_share.carafe_moved

    rule = (
        f"CARAFE's weight off the centre tap on the pixel's own object beats the same kernels "
        f"moved to other boundary pixels (the content-blind control) by at least {margin:.2f}"
    )
    first = next((i for i, s in enumerate(usable) if gap(s) >= margin), None)
    if first is None:
        widest = max(usable, key=gap)
        text = (
            f"By the stored numbers the kernels never become content-aware in these "
            f"{len(usable)} snapshots (steps {usable[0].steps_done}–{usable[-1].steps_done}): "
            f"in none of them does {rule}. The largest gap is {gap(widest):.3f}, at step "
            f"{widest.steps_done}."
        )
        return text + _bilinear_clause(usable)
    s = usable[first]
    shares = s.off_centre_own_share
    text = (
        f"By the stored numbers the kernels become content-aware at step {s.steps_done}: the "
        f"first snapshot where {rule} ({shares.carafe:.3f} against {shares.carafe_moved:.3f}, "
        f"a gap of {gap(s):.3f}"
    )
    if first > 0:
        before = usable[first - 1]
        text += f"; at step {before.steps_done} it was {gap(before):.3f}"
    text += ")."
    later = usable[first + 1 :]
    dropped = [t.steps_done for t in later if gap(t) < margin]
    if dropped:
        text += (
            f" The gap falls below that margin again at step{'s' if len(dropped) > 1 else ''} "
            + ", ".join(map(str, dropped))
            + "."
        )
    elif later:
        text += (
            f" The gap stays at or above the margin in every later snapshot ({gap(later[-1]):.3f} at step "
            f"{later[-1].steps_done})."
        )
    return text + _bilinear_clause(usable)


def _listing(values: Sequence[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def border_padding_sentence(
    snapshots: Sequence[SnapshotMetrics],
    names: Mapping[int, str] | None = None,
    change: float = BORDER_CHANGE,
) -> str:
    """How the border kernels' median weight on zero padding evolves, worded from the stored
    ring measures. ``names``: FPN step index -> label (e.g. "P3→P2"); "FPN step i" otherwise.
    A difference under ``change`` between the first and last snapshot is "about the same"."""
    ordered = sorted(snapshots, key=lambda s: s.steps_done)
    series = padding_series(ordered)
    # only steps stored at the first and the last snapshot can be compared
    series = {i: v for i, v in series.items() if v and v[0] is not None and v[-1] is not None}
    if len(ordered) < 2 or not series:
        return (
            "The stored snapshots hold no border measures to compare, so the numbers cannot say "
            "how the weight on zero padding evolves."
        )

    def name(i: int) -> str:
        return (names or {}).get(i, f"FPN step {i}")

    first, last = ordered[0].steps_done, ordered[-1].steps_done
    start = [v[0] for v in series.values()]
    end = [v[-1] for v in series.values()]
    labels = " / ".join(name(i) for i in series)
    text = (
        f"By the stored numbers, the median kernel weight on zero padding along the outermost "
        f"ring of output pixels ({labels}) is {_listing(start)} at step {first} and "
        f"{_listing(end)} at step {last}."
    )
    rises = [i for i, v in series.items() if v[-1] - v[0] >= change]
    falls = [i for i, v in series.items() if v[0] - v[-1] >= change]
    flat = [i for i in series if i not in rises and i not in falls]
    if len(rises) == len(series):
        text += (
            " It rises at every FPN step: training moves the border kernels' weight onto the "
            "zero padding, not off it."
        )
    elif len(falls) == len(series):
        text += (
            " It falls at every FPN step: training moves the border kernels' weight off the "
            "zero padding, onto the image."
        )
    elif len(flat) == len(series):
        text += f" It changes by less than {change:.2f} at every FPN step."
    else:
        parts = [
            f"{verb} at {', '.join(name(i) for i in ids)}"
            for ids, verb in (
                (rises, "rises"),
                (falls, "falls"),
                (flat, f"changes by less than {change:.2f}"),
            )
            if ids
        ]
        text += " It " + "; it ".join(parts) + "."
    overshoots = []
    for i, v in series.items():
        known = [(x, ordered[j].steps_done) for j, x in enumerate(v) if x is not None]
        peak, when = max(known)
        if when not in (first, last) and peak - v[-1] >= change:
            overshoots.append(f"{peak:.2f} at step {when} ({name(i)})")
    if overshoots:
        text += " On the way it overshoots: " + ", ".join(overshoots) + "."
    if all(v > MOST for v in end):
        text += f" After {last} steps over half of the ring's kernel weight lies on the padding."
    elif all(v <= MOST for v in end):
        text += f" After {last} steps at most half of the ring's kernel weight lies on the padding."
    return text


def content_aware_headline(
    snapshots: Sequence[SnapshotMetrics], margin: float = CONTENT_MARGIN
) -> str:
    """One line: the first snapshot whose kernels are content-aware by the rule of
    :func:`content_aware_sentence`, or that none is."""
    usable = [
        s
        for s in sorted(snapshots, key=lambda s: s.steps_done)
        if s.off_centre_own_share.carafe is not None
        and s.off_centre_own_share.carafe_moved is not None
    ]
    if not usable:
        return "The stored snapshots cannot say when the kernels become content-aware."
    for s in usable:
        shares = s.off_centre_own_share
        if shares.carafe - shares.carafe_moved >= margin:
            return (
                f"By the stored numbers the kernels become content-aware at step "
                f"{s.steps_done}: off-centre own-object share {shares.carafe:.3f} against "
                f"{shares.carafe_moved:.3f} for the same kernels moved."
            )
    return (
        f"By the stored numbers the kernels never become content-aware in steps "
        f"{usable[0].steps_done}–{usable[-1].steps_done}."
    )


def lean_sentence(shown: int, lean: float, last: int, last_lean: float, scale: float) -> str:
    """How far the shown snapshot's kernels lean against the last snapshot's (99th percentile
    of the lean length, input pixels), on the one brightness scale ``scale`` of every map."""
    if shown == last:
        head = f"After {shown} steps (the shipped model) the kernels lean up to {lean:.2g} px"
    else:
        ratio = lean / last_lean if last_lean > 0 else float("inf")
        head = (
            f"After {shown} steps the kernels lean up to {lean:.2g} px, "
            + (f"{ratio:.2g}× " if ratio >= 0.01 else "under 1 % of ")
            + f"the {last_lean:.2g} px after {last} steps"
        )
    return head + f" (99th percentile; full brightness = {scale:.2g} px on every snapshot)."
