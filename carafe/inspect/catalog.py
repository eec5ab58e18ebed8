"""What the app lists and tabulates: checkpoints, upsampler kinds and costs, the benchmark and
the held-out metrics of ``assets/metrics.json``. Plain records and rows, no Streamlit.

The app imports these from here: ``app/`` reaches ``carafe`` only through
:mod:`carafe.inspect`'s modules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from carafe.assets import METRICS_FILE
from carafe.models import build_model, default_config, list_pretrained, load_pretrained
from carafe.models.inference import fused_for_inference
from carafe.nn import CONTROL_KIND, SUBJECT_KIND, UPSAMPLERS, kinds_where, upsampler_cost
from carafe.ops import backend
from carafe.tools.bench import benchmark_rows
from carafe.training.alignment import REFERENCE_KERNELS
from carafe.training.data import CLASS_NAMES

__all__ = [
    "CONTROL_KIND",
    "SUBJECT_KIND",
    "alignment_method_label",
    "baseline_note",
    "first_twin",
    "is_photo_model",
    "photo_model_of",
    "running_model",
    "trained_for",
    "PHOTO_SUFFIX",
    "TRAINED_FOR_PHOTOS",
    "TRAINED_FOR_SCENES",
    "kind_colour",
    "kind_family",
    "kinds_where",
    "operator_backend",
    "PAPER_CARAFE",
    "RANDOM_INIT",
    "MetricsView",
    "ModelCost",
    "Table",
    "benchmark_table",
    "cost_table",
    "display_name",
    "load_metrics",
    "load_model",
    "load_twin",
    "metrics_view",
    "model_cost",
    "model_label",
    "model_names",
    "step_labels",
    "stored_border_sentence",
    "twin_names",
    "upsampler_kinds",
]

RANDOM_INIT = "random init (no checkpoint)"
#: The paper's Table 1 (C = 256, s = 2, k_up = 5, k_enc = 3, C_m = 64): stored, not measured.
PAPER_CARAFE = {
    "params": 74_148,
    "flops_per_input_pixel": 199_496,
    "config": dict(up_kernel=5, encoder_kernel=3, compressed_channels=64),
    "channels": 256,
}


@dataclass
class Table:
    """Rows (dicts keyed by column label) and the column order, ready for a data frame."""

    columns: list[str]
    rows: list[dict]
    caption: str = ""


def operator_backend() -> str:
    """The CARAFE op's backend ("cpp", "cuda+cpp" or "reference (why)")."""
    return backend()


def baseline_note(kind: str) -> str:
    """What the Compare page's ``kind`` panel shows (trained, or a fixed initialisation)."""
    return UPSAMPLERS[kind].baseline_note


def upsampler_kinds() -> tuple[str, ...]:
    """Every registered upsampler kind, in the registry's order (plug-ins included)."""
    return tuple(UPSAMPLERS)


def kind_colour(kind: str) -> str:
    """The kind's colour in every plot (grey for names that are not kinds, e.g. controls)."""
    return UPSAMPLERS[kind].colour if kind in UPSAMPLERS else "#7f7f7f"


def kind_family(kind: str) -> str | None:
    """ "kernels", "points" or "fixed" (see carafe.nn.FAMILIES); None for unknown names."""
    return UPSAMPLERS[kind].family if kind in UPSAMPLERS else None


def display_name(kind: str) -> str:
    """The display name of an upsampler kind ('pixel_shuffle' -> 'Pixel shuffle')."""
    return UPSAMPLERS[kind].display_name if kind in UPSAMPLERS else kind


# --- checkpoints ------------------------------------------------------------------------------
def _pretrained() -> list[str]:
    try:
        return list_pretrained()
    except Exception:  # noqa: BLE001 - the app must start even if the models are broken
        return []


#: A photo model's checkpoint name is its scene model's name with this suffix ("carafe_photo").
PHOTO_SUFFIX = "_photo"
#: What each kind of checkpoint was trained to do, in one line (the sidebar says it).
TRAINED_FOR_SCENES = "segments five shapes on generated scenes (labelled)"
TRAINED_FOR_PHOTOS = "rebuilds the full-size maps from the half-size photo, no labels"


def is_photo_model(name: str) -> bool:
    """Whether checkpoint ``name`` is a photo model (trained without labels on photos)."""
    return name.endswith(PHOTO_SUFFIX)


def photo_model_of(name: str) -> str | None:
    """The shipped photo model of scene checkpoint ``name`` ("carafe" -> "carafe_photo"), or
    None when there is none."""
    photo = name + PHOTO_SUFFIX
    return photo if photo in _pretrained() else None


def running_model(name: str, photos: bool) -> str:
    """The checkpoint that runs for sidebar choice ``name``: its photo model when ``photos`` and
    one is shipped, else ``name`` itself."""
    return (photo_model_of(name) if photos else None) or name


def trained_for(name: str) -> str:
    """One line: what checkpoint ``name`` was trained to do."""
    return TRAINED_FOR_PHOTOS if is_photo_model(name) else TRAINED_FOR_SCENES


def model_names() -> list[str]:
    """Checkpoints to explore: CARAFE first, then every other shipped kind in registry order
    (the twins: the same network trained with another upsampler, FADE and SAPA included),
    then converted ones; a random model if none. Photo models are not listed: each runs in
    place of its scene model on photos (:func:`running_model`)."""
    available = [n for n in _pretrained() if not is_photo_model(n)]
    order = list(UPSAMPLERS)
    names = sorted(
        available,
        key=lambda n: (
            n != SUBJECT_KIND,
            n not in UPSAMPLERS,
            order.index(n) if n in order else 0,
            n,
        ),
    )
    return names or [RANDOM_INIT]


def model_label(name: str) -> str:
    """How the sidebar names a checkpoint: the kind's display name for the shipped ones."""
    if is_photo_model(name):
        return f"{display_name(name[: -len(PHOTO_SUFFIX)])} photo model"
    if name == SUBJECT_KIND:
        return f"{display_name(name)} (the shipped model)"
    if name in UPSAMPLERS:
        return f"{display_name(name)} twin"
    return name


def twin_names(exclude: str = "") -> list[str]:
    """Shipped checkpoints that differ from CARAFE's only in the upsampler, in registry order."""
    available = set(_pretrained())
    return [k for k in UPSAMPLERS if k != SUBJECT_KIND and k in available and k != exclude]


def first_twin(family: str | None = None, guided: bool | None = None) -> str | None:
    """The first shipped twin (registry order) of the given family / guidance, or None."""
    wanted = set(kinds_where(family=family, guided=guided))
    return next((k for k in twin_names() if k in wanted), None)


def load_twin(name: str):
    """A shipped twin for running beside the current model: eval mode, BatchNorm folded into
    the convolutions (:func:`carafe.models.inference.fused_for_inference`; same outputs to
    float rounding, faster)."""
    return fused_for_inference(load_model(name))


def load_model(name: str):
    """A shipped/converted checkpoint in eval mode, or a seeded random model (RANDOM_INIT)."""
    if name == RANDOM_INIT:
        torch.manual_seed(0)
        return build_model(default_config(class_names=list(CLASS_NAMES))).eval()
    return load_pretrained(name).eval()


# --- costs ------------------------------------------------------------------------------------
@dataclass
class ModelCost:
    """One model's upsamplers: one module's parameters and FLOPs, and all of the FPN's."""

    kind: str
    channels: int
    config: dict
    params_one: int  # one upsampler module
    params_all: int  # every upsampler of the FPN
    steps: int
    flops_per_input_pixel: int  # one upsampler, per pixel of its input


def step_labels(model) -> list[str]:
    """The model's upsampling steps, coarsest first, as "P5→P4 (stride 32→16)"."""
    return model.neck.step_names()


def model_cost(model) -> ModelCost:
    """Upsampler cost of a loaded model, counted with :func:`carafe.nn.upsampler_cost`."""
    neck = model.neck
    modules = list(neck.upsample_modules)
    cost = neck.upsampler_cost()
    return ModelCost(
        kind=neck.upsample_kind,
        channels=int(neck.out_channels),
        config=dict(neck.upsample_cfg),
        params_one=int(cost["params"]),
        params_all=int(sum(p.numel() for m in modules for p in m.parameters())),
        steps=len(modules),
        flops_per_input_pixel=int(cost["flops_per_input_pixel"]),
    )


def cost_table(channels: int, carafe_config: dict | None = None) -> Table:
    """Parameters and FLOPs per input pixel of ONE ×2 upsampler of every kind at C=channels."""
    cols = ["upsampler", "channels C", "parameters (one upsampler)", "FLOPs per input pixel"]
    rows = []
    for kind in UPSAMPLERS:
        cfg = dict(carafe_config or {}) if kind == SUBJECT_KIND else {}
        c = upsampler_cost(kind, channels, 2, **cfg)
        rows.append(
            dict(
                zip(
                    cols,
                    [display_name(kind), channels, c["params"], c["flops_per_input_pixel"]],
                    strict=True,
                )
            )
        )
    return Table(cols, rows)


def paper_check() -> tuple[dict, dict]:
    """(ours, paper): CARAFE's cost at the paper's setting, computed and as published."""
    ours = upsampler_cost(SUBJECT_KIND, PAPER_CARAFE["channels"], 2, **PAPER_CARAFE["config"])
    return ours, {k: PAPER_CARAFE[k] for k in ("params", "flops_per_input_pixel")}


# --- benchmark --------------------------------------------------------------------------------
def benchmark_table(progress=None) -> Table:
    """``carafe.bench.benchmark_rows(quick=True)`` as a table (op, reference and bilinear ms)."""
    keys = {
        "shape": "shape",
        "direction": "direction",
        "op_ms": "CARAFE op (ms)",
        "reference_ms": "reference (ms)",
        "bilinear_ms": "bilinear (ms)",
        "speedup_vs_reference": "op speed-up vs reference ×",
    }
    rows = [
        {label: r.get(k) for k, label in keys.items()}
        for r in benchmark_rows(quick=True, progress=progress)
    ]
    return Table(list(keys.values()), rows)


# --- held-out metrics -------------------------------------------------------------------------
_REFERENCE_LABELS = {
    "bilinear": "bilinear-equivalent kernel (fixed)",
    "nearest": "nearest (all weight on the centre tap)",
    "uniform": "uniform kernel (every tap 1/k²)",
}


def alignment_method_label(method: str) -> str:
    """What an alignment method key of metrics.json is ("carafe", "fade_moved", "uniform", ...)."""
    if method.endswith("_moved") and method[: -len("_moved")] in UPSAMPLERS:
        name = display_name(method[: -len("_moved")])
        return f"{name}'s kernel moved to another boundary pixel (content-blind control)"
    if method in _REFERENCE_LABELS:
        return _REFERENCE_LABELS[method]
    if kind_family(method) == "points":
        return f"{display_name(method)}, its own sampling weights at its own pixel"
    return f"{display_name(method)}, its own kernel at its own pixel"


@dataclass
class MetricsView:
    """assets/metrics.json shaped for display: means table, every run, kernel alignment."""

    means: Table
    runs: Table
    alignment: Table | None
    caption: str
    upsampler_params_note: str = ""
    per_class: Table | None = None
    notes: list[str] = field(default_factory=list)


def load_metrics(path: Path | None = None) -> dict | None:
    """The JSON written by ``python -m carafe.training.evaluate`` (default :data:`METRICS_FILE`), or None
    when it is missing or unreadable."""
    try:
        return json.loads(Path(path or METRICS_FILE).read_text())
    except (OSError, ValueError):
        return None


_RUN_COLUMNS = {  # metrics.json key -> column label
    "display_name": "upsampler",
    "seed": "seed",
    "num_seeds": "seeds",
    "miou": "mIoU (%)",
    "boundary_f": "boundary F, 1 px (%)",
    "class_boundary_f": "class boundary F (%)",
    "upsampler_params": "params, one upsampler",
    "upsampler_params_all": "params, all FPN upsamplers",
    "upsampler_flops_per_input_pixel": "FLOPs / input px, one upsampler",
    "upsampler_mflops_per_image": "MFLOPs / image, all steps",
    "upsampler_latency_ms": "latency, one upsampler (ms)",
}


def _table(rows: list[dict], drop: tuple[str, ...] = ()) -> Table:
    cols = [label for key, label in _RUN_COLUMNS.items() if key not in drop]
    out = [{label: r[key] for key, label in _RUN_COLUMNS.items() if key not in drop} for r in rows]
    return Table(cols, out)


def metrics_view(metrics: dict) -> MetricsView:
    """Shape the evaluate schema (split, heldout_images, runs, means, ...) for display.

    Raises KeyError naming the first missing key when the file has another layout.
    """
    means, runs = metrics["means"], metrics["runs"]
    size = metrics["image_size"]
    caption = (
        f"Held-out split '{metrics['split']}': {metrics['heldout_images']} scenes of {size}×{size}"
        f" px (backgrounds from photographs never used in training). Boundary F: class-agnostic,"
        f" {metrics['boundary_tolerance_px']} px tolerance; class boundary F: per class, "
        f"tolerance {metrics['class_boundary_tolerance']}."
    )
    align_rows = []
    for r in means:
        ka = r.get("kernel_alignment")
        if not ka:
            continue
        for method, share in ka["own_object_share"].items():
            off = ka["off_centre_own_share"].get(method)
            align_rows.append(
                {
                    "model": r["display_name"],
                    "kernel": alignment_method_label(method),
                    "own-object share": share,
                    "own-object share off the centre tap": off,
                    "boundary pixels": ka["boundary_pixels"],
                }
            )
    alignment = None
    notes = []
    if align_rows:
        alignment = Table(list(align_rows[0]), align_rows)
        notes = [alignment_sentence(r) for r in means if r.get("kernel_alignment")]
    classes = sorted({c for r in means for c in r["per_class_iou"]})
    per_class = Table(
        ["upsampler", *classes],
        [
            {"upsampler": r["display_name"], **{c: r["per_class_iou"].get(c) for c in classes}}
            for r in means
        ],
    )
    return MetricsView(
        means=_table(means, drop=("seed",)),
        runs=_table(runs, drop=("num_seeds",)),
        alignment=alignment,
        caption=caption,
        per_class=per_class,
        notes=notes,
    )


def stored_border_sentence(metrics: dict | None) -> str | None:
    """The border measures stored in metrics.json (``carafe-evaluate --border``), as one
    labelled sentence; None when the file has none."""
    section = (metrics or {}).get("border")
    if not section or not section.get("runs"):
        return None
    runs = section["runs"]
    seeds = sorted({r["seed"] for r in runs}, key=str)

    def per_seed(kind: str, pick) -> str | None:
        values = [pick(r) for s in seeds for r in runs if r["upsampler"] == kind and r["seed"] == s]
        return " / ".join(f"{v:.1f}" for v in values) if values else None

    band = {kind: per_seed(kind, lambda r: r["band"]["miou"]) for kind in UPSAMPLERS}
    inside = {kind: per_seed(kind, lambda r: r["interior"]["miou"]) for kind in UPSAMPLERS}
    shown = [k for k in UPSAMPLERS if band[k]]
    text = (
        f"Stored, measured by carafe-evaluate on {section['heldout_images']} held-out scenes "
        f"(seed {' / '.join(map(str, seeds))}): mIoU in the band of {section['band_px']} image "
        "pixels along the border, and inside it: "
        + "; ".join(f"{display_name(k)} {band[k]} (inside {inside[k]})" for k in shown)
        + "."
    )
    carafe_runs = [r for r in runs if r["upsampler"] == SUBJECT_KIND and r.get("renormalised")]
    if carafe_runs:
        fixed = " / ".join(f"{r['renormalised']['band']['miou']:.1f}" for r in carafe_runs)
        drop = min(r["band"]["miou"] - r["renormalised"]["band"]["miou"] for r in carafe_runs)
        text += f" With its padding weight given back, CARAFE's band mIoU becomes {fixed}: " + (
            "the trained model relies on the zeros."
            if drop > 2.0
            else "the zeros make little difference to the segmentation."
        )
    return text


def alignment_sentence(run: dict) -> str:
    """One run's kernel alignment in words, every number read from ``run``."""
    ka = run["kernel_alignment"]
    own, off = ka["own_object_share"], ka["off_centre_own_share"]
    name = run["display_name"]
    learned = next((m for m in own if m in UPSAMPLERS and UPSAMPLERS[m].family != "fixed"), None)
    if learned is None:
        return ""
    parts = [
        f"At {ka['boundary_pixels']:,} held-out boundary pixels, {name} puts "
        f"**{own[learned]:.3f}** of its weight on the pixel's own object"
    ]
    if f"{learned}_moved" in own:
        parts.append(
            f", against {own[f'{learned}_moved']:.3f} when the same kernels are moved to other "
            "boundary pixels (a content-blind control: the gap is what the content adds)"
        )
    fixed = ", ".join(f"{k} {own[k]:.3f}" for k in REFERENCE_KERNELS if k in own)
    sentence = "".join(parts) + f". Fixed kernels: {fixed}."
    if off.get(learned) is not None and off.get(CONTROL_KIND) is not None:
        sentence += (
            f" A centre spike wins this share, so also compare the weight off the centre tap: "
            f"{name} {off[learned]:.3f} vs bilinear {off[CONTROL_KIND]:.3f}."
        )
    return sentence
