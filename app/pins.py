"""The pinned-pixels panel: pin the selected pixel (up to two) or let the data choose an edge
pixel and a flat pixel, then see their kernels side by side on one colour scale with their
numbers and a computed comparison. Pins are image points (state.pins), so they stay put when
the page or the FPN step changes. Every control is a button: the panel works from the keyboard.
"""

from __future__ import annotations

import figures.kernels as kernel_figs
import state
import streamlit as st
import texts
from figures import style

from carafe.inspect.pins.choice import choose_pins, pin_view
from carafe.inspect.pins.words import pin_choice_sentence, pins_sentence

LETTERS = "AB"
WHAT = {"edge": "edge", "flat": "flat", "least edgy": "least edgy"}


def pin_pair(cur) -> None:
    """Pin an edge pixel and a flat pixel of the current step, chosen from the data."""
    step = cur.step
    choice = choose_pins(step, cur.image, cur.analysis.segmentation)
    pinned = []
    for (oy, ox), what in (
        (choice.edge, "edge"),
        (choice.flat, "flat" if choice.flat_is_flat else "least edgy"),
    ):
        iy, ix = step.geometry.image_centre(oy, ox)
        pinned.append({"y": int(iy), "x": int(ix), "what": what})
    state.set_pins(cur.image_key, pinned, pin_choice_sentence(choice))


def _show(step, point: dict) -> None:
    """Select a pinned pixel (it becomes the page's pixel)."""
    state.select_output_pixel(step, *state.output_pixel_of(step, point["y"], point["x"]))


def _name(i: int, point: dict) -> str:
    what = WHAT.get(point.get("what", ""), "")
    return f"Pin {LETTERS[i]}" + (f" ({what})" if what else "")


def panel(cur, where: str) -> None:
    """The pinned-pixels panel of one page (``where`` keeps its widget keys apart)."""
    step = cur.step
    if step.carafe is None:
        return
    pinned = state.pins(cur.image_key)
    with st.expander(f"Pinned pixels ({len(pinned)} of {state.MAX_PINS})", expanded=True):
        c1, c2, c3 = st.columns(3)
        c1.button(
            "Pin this pixel",
            key=f"{where}_pin",
            on_click=state.pin_selected,
            args=(step, cur.image_key),
            disabled=len(pinned) >= state.MAX_PINS,
            help="Keeps the selected pixel (as a point of the image) to compare with another. "
            "Two at most: clear the pins to pin others.",
        )
        c2.button(
            "Pin an edge pixel and a flat pixel",
            key=f"{where}_pin_pair",
            on_click=pin_pair,
            args=(cur,),
            help="Chosen from the data: the pixel whose kernel leans most (as 'Show me an edge "
            "pixel' picks it) and a pixel whose window lies on one colour.",
        )
        c3.button(
            "Clear the pins",
            key=f"{where}_unpin",
            on_click=state.set_pins,
            args=(cur.image_key, []),
            disabled=not pinned,
        )
        if not pinned:
            st.caption("No pixel is pinned on this image yet.")
            return
        if st.session_state.get("pins_note"):
            st.caption(st.session_state["pins_note"])
        views = [
            pin_view(step, *state.output_pixel_of(step, p["y"], p["x"]), _name(i, p))
            for i, p in enumerate(pinned)
        ]
        for i, (column, p, v) in enumerate(zip(st.columns(2), pinned, views, strict=False)):
            kv = v.view
            # one 0–1 colour scale for both: a peaked kernel looks peaked beside a diffuse one
            column.plotly_chart(
                kernel_figs.kernel_figure(
                    kv.kernel,
                    f"{v.name}: output pixel ({kv.y}, {kv.x})",
                    zmax=1.0,
                    outside=kv.outside if kv.outside.any() else None,
                    height=320,
                ),
                key=f"{where}_pin_kernel_{i}",
                config=style.png_config(f"pin_{LETTERS[i]}_{kv.y}_{kv.x}"),
            )
            column.button(
                f"Select {v.name.split(' (')[0]}",
                key=f"{where}_pin_select_{i}",
                on_click=_show,
                args=(step, p),
                help="Make this pinned pixel the selected pixel of every page.",
            )
        st.markdown(
            texts.numbers_table(
                [
                    {
                        "pin": v.name,
                        "output pixel": f"({v.view.y}, {v.view.x})",
                        f"output value (channel {v.channel})": f"{v.value:.4f}",
                        "entropy (nats)": f"{v.view.entropy:.3f}",
                        "peak": f"{v.view.peak:.3f}",
                        "padding weight": f"{v.view.padding_weight:.3f}",
                    }
                    for v in views
                ]
            )
        )
        if len(views) == 2:
            st.markdown(pins_sentence(*views))
        else:
            st.caption("Pin a second pixel to compare the two kernels.")
