"""Explore: the image with its segmentation; click a pixel to see its CARAFE kernel."""

from __future__ import annotations

import common
import figures as fg
import numpy as np
import streamlit as st

from carafe.inspect import strongest_lean

st.title("Explore: what does CARAFE predict?")
st.markdown(
    "CARAFE enlarges a feature map ×2 in a **content-aware** way: for every output pixel it "
    "predicts a small k×k **reassembly kernel** from the image content, and the output is the "
    "kernel-weighted sum of the k×k input pixels around the source location. Bilinear "
    "interpolation always uses the same fixed weights; CARAFE can put its weight on the side "
    "of an edge that belongs to the same object. **Click any pixel** of the image (or type its "
    "row/column) to see its kernel; it starts at the pixel whose kernel leans most, usually "
    "at an object boundary."
)

cur = common.require_current()
a = cur.analysis
step = cur.step
d = step.carafe
st.caption(
    f"{common.step_title(step)} · image {cur.image.shape[1]}×{cur.image.shape[0]} · "
    f"analysis {a.seconds:.2f} s · op backend: {a.backend}"
)
if d is None:
    st.info(
        f"This checkpoint upsamples with **{step.kind}** at this step, so there are no "
        "predicted kernels to show. Pick the 'carafe' checkpoint in the sidebar."
    )
    st.stop()

k, groups = d.up_kernel, d.up_group


def _on_click() -> None:
    event = st.session_state.get("explore_click")
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if not points:
        return
    p = points[0]
    cd = p.get("customdata")
    if isinstance(cd, dict):  # Streamlit sends array customdata as {"0": .., "1": ..}
        cd = [cd.get("0"), cd.get("1")]
    if cd is not None and len(cd) == 2 and None not in cd:
        common.select_output_pixel(step, int(cd[0]), int(cd[1]))
    else:
        so = step.stride_out
        common.select_output_pixel(
            step, int(round((p["y"] + 0.5) / so - 0.5)), int(round((p["x"] + 0.5) / so - 0.5))
        )


g = 0
if groups > 1:
    g = st.radio(
        "Kernel group",
        range(groups),
        horizontal=True,
        key="explore_group",
        format_func=lambda i: (
            f"group {i} (channels {i * step.input.shape[0] // groups}"
            f"–{(i + 1) * step.input.shape[0] // groups - 1})"
        ),
        help="With G groups, CARAFE predicts G kernels per pixel; channel c uses "
        "kernel c // (C/G).",
    )


def _jump_to_edge() -> None:
    oy, ox = strongest_lean(step, g, cur.image.shape[:2])
    common.select_output_pixel(step, oy, ox)


@st.fragment
def pixel_view() -> None:
    """Everything that depends on the clicked pixel; reruns alone on a click (fast)."""
    oy, ox = common.selected_pixel(step, cur.image.shape)
    left, right = st.columns([1.15, 1], gap="medium")
    # the kernel view is written first, so it reaches the browser first after a click
    with right:
        kern = d.kernels[g * k * k : (g + 1) * k * k, oy, ox].reshape(k, k)
        st.plotly_chart(
            fg.kernel_figure(kern, f"Reassembly kernel of output pixel ({oy}, {ox})"),
            config=fg.png_config(f"kernel_{oy}_{ox}"),
            key="explore_kernel",
        )
        m1, m2, m3, m4 = st.columns(4)
        m1.metric(
            "Entropy (nats)",
            f"{d.entropy[g, oy, ox]:.3f}",
            help=f"0 = all weight on one tap; log({k * k}) = {np.log(k * k):.3f} = uniform.",
        )
        m2.metric(
            "Peak weight", f"{d.peak[g, oy, ox]:.3f}", help=f"Uniform would be {1 / k**2:.3f}."
        )
        m3.metric(
            "Lean dy",
            f"{d.com_dy[g, oy, ox]:+.2f}",
            help="Centre of mass of the kernel, rows from the window centre (+ = down).",
        )
        m4.metric(
            "Lean dx",
            f"{d.com_dx[g, oy, ox]:+.2f}",
            help="Centre of mass of the kernel, columns from the window centre (+ = right).",
        )
        sy, sx = oy // step.scale, ox // step.scale
        st.markdown(
            f"Output pixel **({oy}, {ox})** takes its value from the {k}×{k} window around input "
            f"pixel **({sy}, {sx})** = (⌊{oy}/{step.scale}⌋, ⌊{ox}/{step.scale}⌋). The weights sum "
            f"to {kern.sum():.4f}."
        )
    with left:
        c1, c2 = st.columns([1, 1])
        show_seg = c1.toggle(
            "Show segmentation", value=a.segmentation is not None, disabled=a.segmentation is None
        )
        alpha = c2.slider("Overlay opacity", 0.0, 1.0, 0.45, 0.05, disabled=not show_seg)
        fig = fg.image_figure(
            cur.image,
            step,
            (oy, ox),
            k,
            seg=a.segmentation if show_seg else None,
            alpha=alpha,
            title="Image: click an output pixel",
        )
        st.plotly_chart(
            fig,
            key="explore_click",
            on_select=_on_click,
            selection_mode="points",
            config=fg.png_config("carafe_image"),
            theme="streamlit",
        )
        if show_seg and a.class_names:
            st.markdown(
                "Segmentation: " + fg.legend_html(a.class_names, np.unique(a.segmentation)),
                unsafe_allow_html=True,
            )
        st.caption(
            "Red square: the output pixel. Dashed cyan: its k×k source window in the "
            f"coarser input map (each input pixel covers {step.stride_in}×{step.stride_in} "
            "image pixels)."
        )
        oy, ox = common.pixel_inputs(step, cur.image.shape, key="explore_px")
        oy, ox = int(oy), int(ox)
        st.button(
            "Show me an edge pixel",
            key="explore_edge",
            on_click=_jump_to_edge,
            help="Selects the pixel whose kernel leans furthest to one side: usually "
            "right next to an object boundary.",
        )

    st.subheader("Feature maps at the right scale")
    order = step.channel_order
    ch = st.selectbox(
        "Feature channel (sorted by energy)",
        [int(c) for c in order[:32]],
        key="explore_channel",
        format_func=lambda c: f"channel {c}",
    )
    r = (k - 1) // 2
    ih, iw = cur.image.shape[:2]
    if step.input.shape[1] * step.stride_in > ih or step.input.shape[2] * step.stride_in > iw:
        st.caption(
            "The model pads the image with zeros (bottom/right) to a multiple of 32 "
            "pixels, so the maps reach a little past the image."
        )
    f1, f2 = st.columns(2)
    f1.plotly_chart(
        fg.map_figure(
            step.input[ch],
            f"Input map (channel {ch}), {step.input.shape[1]}×{step.input.shape[2]}",
            colorscale=fg.DIV,
            window=(sy - r, sx - r, sy + r + 1, sx + r + 1),
            cell=(sy, sx, sy + 1, sx + 1),
            colorbar_title="value",
        ),
        config=fg.png_config("input_map"),
        key="explore_in",
    )
    f2.plotly_chart(
        fg.map_figure(
            step.output[ch],
            f"CARAFE output (channel {ch}), {step.output.shape[1]}×{step.output.shape[2]}",
            colorscale=fg.DIV,
            cell=(oy, ox, oy + 1, ox + 1),
            colorbar_title="value",
        ),
        config=fg.png_config("carafe_output"),
        key="explore_out",
    )


pixel_view()

st.subheader("Kernel statistics over the whole image")
st.markdown(
    "Where do kernels **spread out** (high entropy, like bilinear) and where do they "
    "**concentrate** (high peak)? The centre-of-mass map shows where each kernel **leans**: "
    "near an edge a good kernel leans away from the other object (paper, Fig. 5). "
    "Colour = direction (wheel), brightness = distance; arrows on a coarse grid."
)
s1, s2, s3 = st.columns(3)
s1.plotly_chart(
    fg.map_figure(
        d.entropy[g],
        "Entropy (nats)",
        zmin=0,
        zmax=float(np.log(k * k)),
        colorbar_title="nats",
        height=380,
    ),
    config=fg.png_config("entropy"),
    key="explore_entropy",
)
s2.plotly_chart(
    fg.map_figure(
        d.peak[g],
        "Peak weight",
        colorscale=fg.KERNEL,
        zmin=0,
        zmax=1,
        colorbar_title="weight",
        height=380,
    ),
    config=fg.png_config("peak"),
    key="explore_peak",
)
s3.plotly_chart(
    fg.offset_figure(
        d.com_dy[g],
        d.com_dx[g],
        "Centre-of-mass offset (lean)",
        background=fg.map_background(cur.image, d.com_dy.shape[1:], step.stride_out),
        height=380,
    ),
    config=fg.png_config("com_offset"),
    key="explore_com",
)
w1, w2 = st.columns([1, 6])
w1.image(fg.wheel_legend(), width=64, caption="direction")
w2.caption(
    "Wheel: right = leans right (+dx), up = leans up (−dy); no colour = centred "
    "kernel. The grey image underneath shows where the objects are."
)

st.subheader("Downloads")
st.download_button(
    "Kernels and maps of this image (.npz)",
    data=lambda: common.download_npz(cur),
    file_name=f"carafe_{cur.name.rsplit('.', 1)[0]}.npz",
    mime="application/octet-stream",
    on_click="ignore",
)
st.caption("Each figure has a camera button (top right, on hover) that saves it as PNG.")
common.cite()
