"""The pinned pixels' sentences: why the two pixels were pinned and how their kernels compare,
each worded from the numbers it quotes. No Streamlit, no drawing."""

from __future__ import annotations

import numpy as np

from carafe.inspect.pins.choice import PinChoice, PinView
from carafe.inspect.pixel import PADDING_NOTE

__all__ = [
    "CENTRED",
    "ON_AXIS",
    "SAME_PEAK",
    "lean_direction",
    "pin_choice_sentence",
    "pins_sentence",
]

CENTRED = 0.25  # a kernel whose centre of mass lies within a quarter tap of the centre
ON_AXIS = 0.4  # a lean names a direction (up, left, ...) from this share of its length on
SAME_PEAK = 0.02  # two peaks closer than this are "about as peaked"


def lean_direction(dy: float, dx: float) -> str:
    """'up', 'down and to the left', ... for a lean (rows down, columns right)."""
    dist = float(np.hypot(dy, dx))
    parts = []
    if abs(dy) >= ON_AXIS * dist:
        parts.append("up" if dy < 0 else "down")
    if abs(dx) >= ON_AXIS * dist:
        parts.append("to the left" if dx < 0 else "to the right")
    return " and ".join(parts)


def pin_choice_sentence(c: PinChoice) -> str:
    """Which two pixels were pinned and why."""
    edge = (
        f"Pinned the edge pixel ({c.edge[0]}, {c.edge[1]}), the kernel that leans most among "
        "windows inside the image (at a predicted boundary where there is one), and "
    )
    if c.flat_is_flat:
        return edge + (
            f"the flat pixel ({c.flat[0]}, {c.flat[1]}): of the {c.flat_pixels} output pixels "
            f"whose window lies on one colour (± {c.tolerance} of 255), the one whose kernel "
            "leans least."
        )
    spread = (
        "" if np.isnan(c.spread) else f": its window's colours still span {c.spread:.0f} of 255"
    )
    return edge + (
        f"the least edgy pixel ({c.flat[0]}, {c.flat[1]}) instead of a flat one: no window "
        f"lies on one colour (± {c.tolerance} of 255) at this step{spread}."
    )


def pins_sentence(a: PinView, b: PinView) -> str:
    """Which of two pinned kernels is more peaked and which leans, with their padding."""
    va, vb = a.view, b.view
    if abs(va.peak - vb.peak) < SAME_PEAK:
        parts = [
            f"The two kernels are about as peaked (peak {va.peak:.2f} and {vb.peak:.2f}, "
            f"entropy {va.entropy:.2f} and {vb.entropy:.2f} nats)"
        ]
    else:
        hi, lo = (a, b) if va.peak > vb.peak else (b, a)
        parts = [
            f"{hi.name}'s kernel is more peaked than {lo.name}'s: peak {hi.view.peak:.2f} "
            f"against {lo.view.peak:.2f}, entropy {hi.view.entropy:.2f} against "
            f"{lo.view.entropy:.2f} nats"
            + (
                " (by entropy, though, it is the more spread of the two)"
                if hi.view.entropy > lo.view.entropy
                else ""
            )
        ]
    la, lb = float(np.hypot(*va.lean)), float(np.hypot(*vb.lean))
    if max(la, lb) < CENTRED:
        parts.append("both are centred (their centre of mass within a quarter tap)")
    else:
        more, less = (a, b) if la >= lb else (b, a)
        lm, ll = max(la, lb), min(la, lb)
        parts.append(
            f"{more.name} leans {lm:.2f} taps {lean_direction(*more.view.lean)}, {less.name} "
            + (
                f"{ll:.2f} (centred)"
                if ll < CENTRED
                else f"{ll:.2f} {lean_direction(*less.view.lean)}"
            )
        )
    text = "; ".join(parts) + "."
    for p in (a, b):
        if p.view.padding_weight > PADDING_NOTE:
            text += f" {p.name} puts {p.view.padding_weight:.2f} of its weight on zero padding."
    return text
