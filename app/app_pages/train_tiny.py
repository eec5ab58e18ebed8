"""Train a tiny CARAFE: pick the knobs, press Train, and watch CARAFE, bilinear and DySample
learn to give back the sharp edges of shrunken pictures in a few seconds on the CPU. Numbers and
sentences: carafe.inspect.train_tiny; figures: figures/train_tiny.py."""

from __future__ import annotations

import streamlit as st
import texts
from figures import style
from figures import train_tiny as train_tiny_figs
from figures.kernels import kernel_figure

import carafe.inspect.train_tiny.knobs as tiny_knobs
import carafe.inspect.train_tiny.view as tiny_view
import carafe.inspect.train_tiny.words as tiny_words
from carafe.inspect.catalog import display_name

KNOB_LABELS = {
    "up_kernel": (
        "k_up (reassembly kernel)",
        "How far each output pixel reaches: k_up×k_up input pixels.",
    ),
    "encoder_kernel": ("k_enc (content encoder)", "How much context the kernel prediction sees."),
    "compressed_channels": ("C_m (compressed channels)", "Width of the 1×1 channel compressor."),
    "scale": ("s (scale factor)", "Each input pixel predicts s² kernels, one per output pixel."),
    "groups": ("G (groups)", "Channel groups, each with its own kernel (DySample: point groups)."),
}


@st.cache_data(show_spinner=False, max_entries=16)
def _trained(
    up_kernel: int,
    encoder_kernel: int,
    compressed_channels: int,
    scale: int,
    groups: int,
    extra: tuple[str, ...] = (),
):
    """Train once per knob set (every session shares the result). The progress bar is made
    here, so a cache hit replays it, emptied, instead of drawing a stale one."""
    bar = st.progress(0.0, text="Training CARAFE, bilinear and DySample…")
    result = tiny_view.train_tiny_view(
        tiny_knobs.Knobs(up_kernel, encoder_kernel, compressed_channels, scale, groups),
        progress=lambda fraction, text: bar.progress(fraction, text=text),
        extra=tuple(extra),
    )
    bar.empty()
    return result


#: This page's footer: it trains its own networks and never uses the sidebar's model.
FOOTER = (
    "Everything on this page is trained and computed live in your session: three tiny "
    "networks, CARAFE's with the real CARAFE operator. The sidebar's loaded model is not used "
    "here."
)


def intro() -> None:
    st.title("Train a tiny CARAFE")
    st.markdown(
        "Shrunken pictures of flat-coloured shapes, upsampled back by a tiny network: "
        "**CARAFE**, **bilinear** and **DySample** trained side by side, live, with the knobs "
        "you pick."
    )
    with st.expander("The task and the network"):
        st.markdown(
            "Pictures of flat-coloured shapes are shrunk **×s** (each input pixel is the "
            "average of its s×s block, so edges turn into blends) and a tiny network must "
            "upsample them back (mean square error against the full-size picture). The network "
            "feeds the colours and the features of a 3×3 conv to the **upsampler**, then a 1×1 "
            "conv turns the result back into colours; **CARAFE**, **bilinear** and **DySample** "
            "each get the same convs and are trained side by side under the same budget: same "
            "steps, same batches, same seed, same optimiser (Adam). The same knobs always give "
            "the same result."
        )


def chosen_knobs() -> tiny_knobs.Knobs:
    """One slider per knob; returns the knob set chosen."""
    values = {}
    columns = st.columns(len(KNOB_LABELS))
    for column, (name, (label, help_text)) in zip(columns, KNOB_LABELS.items(), strict=True):
        values[name] = column.select_slider(
            label,
            tiny_knobs.CHOICES[name],
            value=getattr(tiny_knobs.Knobs(), name),
            key=f"tt_{name}",
            help=help_text,
        )
    return tiny_knobs.Knobs(**values)


def sizes(knobs: tiny_knobs.Knobs) -> None:
    """Each upsampler's parameters and FLOPs under the knobs (no training needed), and what
    these knobs make of CARAFE (its compressor, a one-tap kernel)."""
    st.subheader("Size under these knobs")
    all_costs = tiny_knobs.costs(knobs)
    cost_rows = [
        {
            "upsampler": c.name,
            "parameters (upsampler)": f"{c.params:,}",
            "FLOPs per input pixel": f"{c.flops_per_input_pixel:,}",
            "parameters (whole network)": f"{c.net_params:,}",
        }
        for c in all_costs
    ]
    st.markdown(texts.numbers_table(cost_rows))
    channels = knobs.config().channels
    carafe_params = next(c.params for c in all_costs if c.kind == "carafe")
    notes = [
        tiny_words.idle_sentence(knobs.up_kernel, carafe_params),
        tiny_words.compressor_sentence(channels, knobs.compressed_channels),
    ]
    st.markdown("  \n".join(n for n in notes if n))
    with st.expander("How these are counted"):
        st.caption(
            f"Counted by the registry's upsampler_cost at the C = {channels} maps the upsampler "
            f"sees (the 3 colours and {channels - 3} learned features), as in the CARAFE "
            "paper's table; the whole network adds the two convs."
        )


def extra_kinds() -> tuple[str, ...]:
    """The kinds the learner adds to the default three (FADE, SAPA, ...)."""
    return tuple(
        st.multiselect(
            "Also train",
            tiny_view.extra_kinds(),
            format_func=display_name,
            key="tt_extra",
            help="More upsamplers under the same budget. A guided kind (FADE, SAPA) reads a "
            "fine map; this task has none finer than its input, so its guide is the input's "
            "maps upsampled bilinearly: more resolution, no new information.",
        )
    )


def _key(knobs: tiny_knobs.Knobs, extra: tuple[str, ...]) -> tuple:
    return (
        knobs.up_kernel,
        knobs.encoder_kernel,
        knobs.compressed_channels,
        knobs.scale,
        knobs.groups,
        extra,
    )


def trained_run(knobs: tiny_knobs.Knobs) -> tiny_view.TinyView:
    """The run of these knobs once Train was pressed for them; until then, what Train will do
    (and the page stops)."""
    trained = st.session_state.setdefault("tt_trained", set())
    key = _key(knobs, extra_kinds())
    if st.button(
        "Train", type="primary", key="tt_train", help="Trains three models (a few seconds)"
    ):
        trained.add(key)
    if key not in trained:
        st.info(
            "Press **Train** to train the three models with these knobs (the default knobs take "
            "about 5–20 s on two CPU cores)."
        )
        with st.expander("How long training takes"):
            st.caption(
                tiny_words.work_sentence(
                    tiny_knobs.step_flops(knobs), tiny_knobs.step_flops(tiny_knobs.Knobs())
                )
                + " Knob sets trained before come back at once; changing a knob while it "
                "trains stops the run."
            )
        texts.cite_own(FOOTER)
        st.stop()
    return _trained(*key)


def losses(run: tiny_view.TinyView) -> None:
    """The training and held-out losses of the three models, and who ends lowest."""
    names, cfg = run.names, run.config
    st.subheader("How they learned")
    st.plotly_chart(
        train_tiny_figs.loss_figure(
            run.steps, run.train_loss, run.heldout_steps, run.heldout_loss, names
        ),
        key="tt_losses",
        config=style.png_config("tiny_losses"),
    )
    final = run.final_heldout
    st.markdown(tiny_words.loss_sentence(final, names))
    with st.expander("The final losses and the training run"):
        st.markdown(
            texts.numbers_table(
                [
                    {"upsampler": names[k], "final held-out MSE": f"{final[k]:.5f}"}
                    for k in run.kinds
                ]
            )
        )
        st.caption(
            f"{len(run.kinds)} models × {cfg.steps} steps of {cfg.batch} pictures "
            f"({cfg.size}×{cfg.size}, input {cfg.low_size}×{cfg.low_size}) trained in "
            f"{run.seconds:.1f} s on one CPU thread ({run.cpu_seconds:.1f} s of CPU time); the "
            f"held-out batch ({cfg.heldout_pictures} pictures never trained on) is evaluated "
            f"every {cfg.eval_every} steps."
        )


def chosen_pixel(run: tiny_view.TinyView):
    """The edge or flat pixel to look at (and which edge pixel); returns (role, its kernels)."""
    role = st.radio(
        "Pixel",
        ["edge", "flat"],
        format_func=lambda r: {"edge": "a pixel at an edge", "flat": "a pixel in a flat area"}[r],
        horizontal=True,
        key="tt_role",
        help="Both are chosen from the data: an edge pixel's window holds a clean edge between "
        "two colours, where bilinear's fixed weights take from the other colour; the flat "
        "pixel's whole window has one colour.",
    )
    index = 0
    n_edges = len(run.edge_pixels)
    if role == "edge" and n_edges > 1:
        if not 1 <= st.session_state.get("tt_edge_index", 1) <= n_edges:
            st.session_state["tt_edge_index"] = 1  # another knob set has fewer edge pixels
        index = (
            st.slider(
                "Edge pixel",
                1,
                n_edges,
                key="tt_edge_index",
                help="Every edge pixel of the picture: first those beside an edge (their source "
                "pixel has their own colour), then those whose source pixel the edge crosses.",
            )
            - 1
        )
    return role, run.pixel(role, index)


def pictures(run: tiny_view.TinyView, px) -> None:
    """The held-out picture's input, target and the three outputs, the pixel's window marked."""
    cfg = run.config
    k, s = cfg.up_kernel, cfg.scale
    images = run.rgb()
    titles = [f"input {cfg.low_size}×{cfg.low_size} (shown ×{s})", "target"] + [
        run.names[kind] for kind in run.kinds
    ]
    st.plotly_chart(
        train_tiny_figs.pictures_figure(
            list(images.values()),
            titles,
            px.window,
            px.pixel,
            f"Held-out picture {run.picture + 1}: output pixel {px.pixel} (red) and its "
            f"{k}×{k} window (dashed)",
        ),
        key="tt_pictures",
        config=style.png_config("tiny_pictures"),
    )
    st.caption(
        "One colour scale for all: the RGB values, clipped to [0, 1]. "
        + tiny_words.reach_sentence(k, s)
    )


def pixel_kernels(run: tiny_view.TinyView, role: str, px) -> None:
    """CARAFE's G kernels at the pixel, and what they do there."""
    groups = run.config.groups
    columns = st.columns(min(groups, 4))
    for group in range(groups):
        columns[group % len(columns)].plotly_chart(
            kernel_figure(
                px.kernels[group],
                f"Group {group + 1} of {groups}: kernel of pixel {px.pixel}",
                zmin=0.0,
                zmax=1.0,
                height=320,
                width=max(160, 720 // groups),  # G panels share the page's width
            ),
            key=f"tt_kernel_{group}",
            config=style.png_config(f"tiny_kernel_{group}"),
        )
    if role == "edge":
        st.markdown(tiny_words.edge_sentence(px))
        st.markdown(tiny_words.edge_summary_sentence(run.edge_summary))
    else:
        st.markdown(tiny_words.flat_sentence(px))
    st.markdown(tiny_words.groups_sentence(px.kernels))


def block_kernels(run: tiny_view.TinyView, px) -> None:
    """The s² kernels the pixel's source pixel predicts, one per output pixel of its block."""
    s = run.config.scale
    st.plotly_chart(
        train_tiny_figs.block_figure(
            px.block[:, :, 0],
            px.sub_pixel,
            f"Input pixel {px.source} predicts one kernel per output pixel of its {s}×{s} block"
            + (" (group 1)" if run.config.groups > 1 else ""),
        ),
        key="tt_block",
        config=style.png_config("tiny_block"),
    )
    st.markdown(tiny_words.block_sentence(px.block))


def main() -> None:
    intro()
    knobs = chosen_knobs()
    sizes(knobs)
    run = trained_run(knobs)
    losses(run)
    st.subheader("One held-out picture through each model")
    role, px = chosen_pixel(run)
    s = run.config.scale
    pictures_tab, kernels_tab, block_tab = st.tabs(
        [
            "Pictures",
            f"CARAFE's kernels at the {role} pixel",
            f"The {s * s} kernels of its input pixel",
        ]
    )
    with pictures_tab:
        pictures(run, px)
    with kernels_tab:
        pixel_kernels(run, role, px)
    with block_tab:
        block_kernels(run, px)
    texts.cite_own(FOOTER)


main()
