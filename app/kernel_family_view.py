"""What each kernel predictor sees: every shipped kernel upsampler's kernel at one output pixel,
on one colour scale, what differs worded from the numbers, and the fine guide the guided kinds
read. Explore's family tab and How it works' content-encoder stage show it."""

from __future__ import annotations

import figures.kernels as kernel_figs
import figures.maps as map_figs
import state
import streamlit as st
from figures import style

from carafe.inspect.catalog import kinds_where, twin_names
from carafe.inspect.kernel_family import (
    family_kernel,
    family_sentence,
    guide_energy,
    predictor_sentence,
)


def _own_share(model_name: str, cur, analysis, step, oy: int, ox: int) -> float | None:
    """The kernel's weight on the pixel's own object/region at the finest step, else None."""
    edges = state.image_alignment_for(
        model_name, cur.image_key, analysis, state.scene_name(cur.name)
    )
    if edges is None or step.index != edges.step_index:
        return None
    shares = edges.shares_at(oy, ox)
    return shares[0] if shares else None


def family_kernels(cur, step, oy: int, ox: int):
    """(kernels, guides): the current model's kernel at (oy, ox) first, then every other
    shipped kernel twin's (trained for the same task), and the guided twins' steps."""
    ref = family_kernel(step, oy, ox, _own_share(cur.model_name, cur, cur.analysis, step, oy, ox))
    kernels, guides = [ref], []
    if ref is None:  # no kernels at this step or pixel: nothing to set beside them
        return kernels, guides
    if ref.guided:
        guides.append((ref.name, step))
    for kind in kinds_where(family="kernels"):
        if kind == step.kind or kind not in twin_names():
            continue
        twin = state.twin_analysis_for(kind, cur.image_key, cur.image)
        if cur.step_index >= len(twin.steps):
            continue
        tstep = twin.steps[cur.step_index]
        twin_name = state.running_model_name(kind)
        fk = family_kernel(tstep, oy, ox, _own_share(twin_name, cur, twin, tstep, oy, ox))
        if fk is not None and fk.kernel.shape == ref.kernel.shape:
            kernels.append(fk)
            if tstep.guide is not None:
                guides.append((fk.name, tstep))
    return kernels, guides


def family_panel(
    cur,
    step,
    oy: int,
    ox: int,
    per_pixel: bool,
    true_labels: bool,
    page: str = "explore",
) -> None:
    """The kernels side by side, one sentence per twin against the current model's, what each
    predictor reads, and the guide maps; ``page`` prefixes widget keys."""
    kernels, guides = family_kernels(cur, step, oy, ox)
    if kernels[0] is None or len(kernels) == 1:
        st.caption("No other kernel upsampler is shipped for this image's step.")
        return
    ref = kernels[0]
    top = max(float(k.kernel.max()) for k in kernels) if per_pixel else 1.0
    for col, fk in zip(st.columns(len(kernels)), kernels, strict=True):
        with col:
            st.plotly_chart(
                kernel_figs.kernel_figure(
                    fk.kernel,
                    f"{fk.name} at ({oy}, {ox})",
                    zmax=top,
                    height=300,
                    width=max(180, 720 // len(kernels)),  # the kernels share the page's width
                ),
                config=style.png_config(f"{fk.kind}_kernel_{oy}_{ox}"),
                key=f"{page}_family_{fk.kind}",
            )
    what = "object" if true_labels else "region"
    st.markdown(predictor_sentence(kernels, what))
    st.markdown("\n".join(f"- {family_sentence(ref, fk, what)}" for fk in kernels[1:]))
    st.caption(
        "Each kernel comes from its own model (the same network trained the same way with that "
        "upsampler), at the same step and output pixel, on one colour scale (0 to "
        f"{top:.2f})."
    )
    for name, tstep in guides:
        st.plotly_chart(
            map_figs.map_figure(
                guide_energy(tstep),
                f"The guide {name} read: the fine map's strength (RMS over channels)",
                cell=(oy, ox, oy + 1, ox + 1),
                height=320,
            ),
            config=style.png_config(f"guide_{name}"),
            key=f"{page}_guide_{name}",
        )
