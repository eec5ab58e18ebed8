"""The reassembly family in numbers: this project's measured table beside the published one.

Measured rows come from ``assets/metrics.json`` (the size table: held-out scenes at each size,
paired bootstrap CIs against the bilinear twin and against CARAFE). Published rows are stored
here, as printed by their authors, with their sources; they were not re-measured and come from
models, data and schedules far larger than ours, so only their order can be compared.
"""

from __future__ import annotations

from dataclasses import dataclass

from carafe.inspect.catalog import CONTROL_KIND, SUBJECT_KIND, Table, display_name, kind_family

__all__ = [
    "PUBLISHED",
    "PUBLISHED_SPREAD",
    "FamilyRow",
    "difference_sentence",
    "family_rows",
    "family_table",
    "published_table",
]


@dataclass(frozen=True)
class Published:
    """One published number."""

    upsampler: str
    benchmark: str
    metric: str
    value: float
    source: str


_FADE_REPO = "FADE authors' README (github.com/poppinace/fade), ECCV 2022"
_SAPA_REPO = "SAPA authors' README (github.com/poppinace/sapa), NeurIPS 2022"
_FADE_IJCV = "FADE, IJCV 2024 (as quoted in this project's issue; not re-checked here)"
_ADE = "ADE20K, SegFormer-B1"
_COCO = "COCO, Faster R-CNN R50"

#: Stored, not measured: (upsampler, benchmark, metric, value, source).
PUBLISHED = (
    Published("Bilinear", _ADE, "mIoU", 41.68, _FADE_REPO),
    Published("CARAFE", _ADE, "mIoU", 42.82, _FADE_REPO),
    Published("SAPA-B", _ADE, "mIoU", 43.20, _SAPA_REPO),
    Published("FADE", _ADE, "mIoU", 44.41, _FADE_REPO),
    Published("CARAFE", _COCO, "AP", 38.6, _SAPA_REPO),
    Published("FADE", _COCO, "AP", 38.5, _FADE_IJCV),
    Published("SAPA-B", _COCO, "AP", 37.8, _SAPA_REPO),
)
#: The run-to-run spread the authors report for these segmentation numbers (stored).
PUBLISHED_SPREAD = "about ±0.5 mIoU from run to run, as the authors report"


def published_table() -> Table:
    """The published numbers, labelled as stored, with their sources."""
    cols = ["upsampler", "benchmark", "metric", "published value", "source"]
    rows = [
        dict(zip(cols, [p.upsampler, p.benchmark, p.metric, p.value, p.source], strict=True))
        for p in PUBLISHED
    ]
    caption = (
        "Published, stored as printed (not measured here). Spread: "
        + PUBLISHED_SPREAD
        + ". SAPA-B is the authors' SAPA with learned query and key projections, the module "
        "this project implements (to our reading of their code)."
    )
    return Table(cols, rows, caption)


@dataclass(frozen=True)
class FamilyRow:
    """One measured run at one image size."""

    kind: str
    seed: int
    size: int
    miou: float
    vs_twin: dict | None  # {difference, ci_low, ci_high} against the bilinear twin, same seed
    vs_carafe: dict | None  # the same against CARAFE


def family_rows(metrics: dict | None) -> list[FamilyRow]:
    """Every run of the size table at every size, with its CIs (empty without the table)."""
    sizes = (metrics or {}).get("sizes") or {}
    diffs = {
        (d["upsampler"], d["against"], d["seed"]): d["by_size"]
        for d in sizes.get("differences", [])
    }
    rows = []
    for run in sizes.get("runs", []):
        kind, seed = run["upsampler"], run["seed"]
        for size, scores in run["by_size"].items():
            twin = diffs.get((kind, CONTROL_KIND, seed), {}).get(size)
            carafe = diffs.get((kind, SUBJECT_KIND, seed), {}).get(size)
            rows.append(FamilyRow(kind, seed, int(size), scores["miou"], twin, carafe))
    return rows


def _ci(d: dict | None) -> str:
    if d is None:
        return "–"
    return f"{d['difference']:+.2f} [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]"


def family_table(metrics: dict | None, size: int = 256) -> Table:
    """The measured table at one image size: mIoU and the CIs of each run."""
    cols = ["upsampler", "family", "seed", "held-out mIoU", "− bilinear twin (95 % CI)", "− CARAFE"]
    rows = [
        dict(
            zip(
                cols,
                [
                    display_name(r.kind),
                    kind_family(r.kind) or "",
                    r.seed,
                    round(r.miou, 2),
                    _ci(r.vs_twin),
                    _ci(r.vs_carafe),
                ],
                strict=True,
            )
        )
        for r in family_rows(metrics)
        if r.size == size
    ]
    caption = (
        f"Measured here: held-out scenes of {size}×{size} px, this project's MobileNetV2-FPN, "
        "one row per trained seed. Differences: paired bootstrap over scenes, 95 % CI; a CI "
        "that contains 0 does not separate the two."
    )
    return Table(cols, rows, caption)


def difference_sentence(row: FamilyRow) -> str:
    """One run's standing against the twin and CARAFE, claimed only where the CI allows."""

    def verdict(d: dict | None, other: str) -> str | None:
        if d is None:
            return None
        if d["ci_low"] > 0:
            return f"above {other} by {d['difference']:.2f} mIoU (CI {_ci(d)})"
        if d["ci_high"] < 0:
            return f"below {other} by {-d['difference']:.2f} mIoU (CI {_ci(d)})"
        return f"not separable from {other} (CI {_ci(d)} contains 0)"

    parts = [
        v
        for v in (verdict(row.vs_twin, "the bilinear twin"), verdict(row.vs_carafe, "CARAFE"))
        if v
    ]
    name = display_name(row.kind)
    if not parts:
        return f"{name} (seed {row.seed}) scores {row.miou:.2f} mIoU at {row.size} px."
    return f"{name} (seed {row.seed}) at {row.size} px: " + "; ".join(parts) + "."
