"""Held-out scores across image sizes: does a model work at the sizes the app shows it?

Scenes are generated at each size with :func:`carafe.training.data.make_scene`, so objects
scale with the scene: a 512-px scene holds objects four times the radius of a 128-px one, and
its edges stay as sharp. At each size this measures mIoU, boundary F and class boundary F, the
kernel alignment at boundaries (own-object and off-centre own share, with the moved control
and bilinear; :mod:`carafe.training.alignment`), and a paired bootstrap over scenes of the mIoU
difference between two models (CARAFE and its bilinear twin of the same seed).

The table holds sizes that are a multiple of the models' coarsest stride (32 px, where the
model pads nothing) and sizes that are not (:data:`PADDED_SIZES`), which the model pads to the
next multiple by replicating the image's last row and column (``SegmentationModel._prepare``;
training only ever used multiples). ``--added`` measures :data:`ADDED_SIZES` alone, on the
given checkpoints (the shipped seed-0 files), and merges them into the stored section.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import torch

from carafe.models import load_checkpoint
from carafe.nn import CONTROL_KIND, SUBJECT_KIND
from carafe.training.alignment import alignment_methods, kernel_alignment
from carafe.training.data import SOURCE_PHOTOS, load_split
from carafe.training.evaluate import predict, scene_confusions, scores
from carafe.training.metrics import mean_iou
from carafe.training.regions import REGION_SCALE, heldout_photo, photo_regions, region_alignment

__all__ = [
    "ADDED_NOTE",
    "ADDED_SIZES",
    "BASE_SIZES",
    "BOOTSTRAP_SAMPLES",
    "PADDED_SIZES",
    "PADDING",
    "PADDING_NOTE",
    "SIZE_SCENES",
    "STRIDE",
    "TABLE_SIZES",
    "WORKING_RANGE",
    "batch_for_size",
    "main",
    "merge_added_sizes",
    "miou_difference_ci",
    "photo_section",
    "score_added",
    "size_columns",
    "size_markdown",
    "size_row",
    "size_section",
]

#: The sizes of the first table, measured for every run (both seeds): multiples of the models'
#: coarsest stride, where the model pads nothing.
BASE_SIZES = (128, 256, 384, 512)
#: Sizes added later and measured on the shipped seed-0 checkpoints (``--added``): 200, 300
#: and 450 px are no multiple of 32, so the model pads them; 448 px (14 x 32) is not padded,
#: an untrained size between 384 and 512.
ADDED_SIZES = (200, 300, 448, 450)
TABLE_SIZES = tuple(sorted(BASE_SIZES + ADDED_SIZES))
#: The coarsest stride of the shipped models (SegmentationModel.size_divisor).
STRIDE = 32
#: The table's sizes that the model pads (bottom/right) to the next multiple of STRIDE.
PADDED_SIZES = tuple(s for s in TABLE_SIZES if s % STRIDE)
# Fewer scenes at the big sizes: 200 scenes of 512 px hold 6x the pixels of 500 at 128 px.
SIZE_SCENES = {s: 500 if s == 128 else 200 for s in TABLE_SIZES}
#: How SegmentationModel._prepare pads a size that is not a multiple of 32 (F.pad's mode).
PADDING = "replicate"
PADDING_NOTE = (
    "Sizes that are not a multiple of 32 px (the coarsest stride) are padded bottom/right to "
    "the next multiple by replicating the image's last row and column (the models were "
    "trained at multiples of 32 only), and the logits are cropped back; multiples of 32 are "
    "not padded."
)
ADDED_NOTE = (
    "Sizes added later were measured on the shipped seed-0 checkpoints (assets/) only; a run "
    "or comparison without a score at a size shows –."
)
# The sizes the shipped models were trained and measured at (long side, px); the app resizes
# images into this range before the model sees them.
WORKING_RANGE = (128, 512)
BOOTSTRAP_SAMPLES = 2000


def batch_for_size(size: int) -> int:
    """Scenes per forward pass: about fifty 128-px scenes' worth of pixels, at least one."""
    return max(1, round(50 * (128 / size) ** 2))


def miou_difference_ci(
    confusions_a: torch.Tensor,
    confusions_b: torch.Tensor,
    samples: int = BOOTSTRAP_SAMPLES,
    level: float = 0.95,
    seed: int = 0,
) -> dict:
    """mIoU(a) - mIoU(b) in points, with a paired bootstrap interval over scenes.

    ``confusions_*`` are (N, K, K) per-scene confusion matrices of two models on the same N
    scenes. Each bootstrap sample draws N scenes with replacement (the same draw for both
    models, so scene difficulty cancels) and recomputes both corpus mIoUs from the summed
    matrices.
    """
    if confusions_a.shape != confusions_b.shape:
        raise ValueError(
            f"the two models must be scored on the same scenes: {tuple(confusions_a.shape)} "
            f"vs {tuple(confusions_b.shape)}"
        )
    n = confusions_a.shape[0]
    g = torch.Generator().manual_seed(seed)
    a, b = confusions_a.double().flatten(1), confusions_b.double().flatten(1)
    k = confusions_a.shape[-1]
    diffs = torch.empty(samples, dtype=torch.float64)
    for i in range(samples):
        weights = torch.bincount(torch.randint(n, (n,), generator=g), minlength=n).double()
        diffs[i] = mean_iou((weights @ a).view(k, k))[0] - mean_iou((weights @ b).view(k, k))[0]
    tail = (1 - level) / 2
    lo, hi = torch.quantile(diffs, torch.tensor([tail, 1 - tail], dtype=torch.float64))
    point = mean_iou(confusions_a.sum(0))[0] - mean_iou(confusions_b.sum(0))[0]
    return {
        "difference": 100 * point,
        "ci_low": 100 * float(lo),
        "ci_high": 100 * float(hi),
        "level": level,
        "samples": samples,
        "scenes": n,
    }


def size_row(model, images: torch.Tensor, labels: torch.Tensor) -> tuple[dict, torch.Tensor]:
    """Scores and alignment of ``model`` on scenes of one size, and the per-scene confusions
    (for :func:`miou_difference_ci`)."""
    batch = batch_for_size(images.shape[-1])
    pred = predict(model, images, batch)
    row = scores(pred, labels, model.class_names, batch_size=batch)
    row["kernel_alignment"] = kernel_alignment(model, images, labels, batch_size=batch)
    return row, scene_confusions(pred, labels, model.num_classes)


def _load_runs(paths: list[Path]) -> list[tuple[str, object, Path]]:
    found = []
    for path in paths:
        ckpt = path / "model.safetensors" if path.is_dir() else path
        config = json.loads(ckpt.with_suffix(".json").read_text())
        found.append((config["upsampler"]["kind"], config.get("training", {}).get("seed"), ckpt))
    return found


def _scored_run(
    ckpt: Path,
    cache_dir: Path | None,
    sizes: tuple[int, ...] = TABLE_SIZES,
    cache: Path | None = None,
) -> dict:
    """One checkpoint's rows and per-scene confusions at ``sizes``, kept in ``cache`` (by
    default beside it, ``NAME.sizes.pt``) so that runs can be scored as they finish and
    assembled later. Sizes already in the cache are reused (unless the checkpoint file or
    the padding changed), the others scored and added to it."""
    cache = cache or ckpt.with_name(ckpt.stem + ".sizes.pt")
    stamp = ckpt.stat().st_mtime_ns
    saved = {"by_size": {}, "confusions": {}}
    if cache.is_file():
        stored = torch.load(cache, weights_only=True)
        if stored.get("stamp") == stamp and stored.get("padding") == PADDING:
            saved = stored
    missing = [size for size in sizes if str(size) not in saved["by_size"]]
    if missing:
        model = load_checkpoint(ckpt)
        for size in missing:
            data = load_split("heldout", SIZE_SCENES[size], size, cache_dir)
            row, conf = size_row(model, data.images, data.labels)
            saved["by_size"][str(size)], saved["confusions"][str(size)] = row, conf
            print(f"{size:>4} px  {ckpt}: mIoU {row['miou']:6.2f}", flush=True)
        saved.update(stamp=stamp, padding=PADDING, sizes=sorted(int(k) for k in saved["by_size"]))
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(saved, cache)
    keys = [str(size) for size in sizes]
    return {
        "stamp": stamp,
        "padding": PADDING,
        "sizes": list(sizes),
        "by_size": {k: saved["by_size"][k] for k in keys},
        "confusions": {k: saved["confusions"][k] for k in keys},
    }


def _comparisons(found, confusions: dict, sizes) -> list[dict]:
    """Paired bootstrap CIs of every learned run against the bilinear twin of its seed and,
    for every other learned kind, against CARAFE of its seed, at ``sizes``."""
    present = {(kind, seed) for kind, seed, _ in found}
    comparisons = []
    for against in (CONTROL_KIND, SUBJECT_KIND):  # every learned kind vs the twin and vs CARAFE
        for kind, seed, _ in found:
            if kind in (CONTROL_KIND, against) or (against, seed) not in present:
                continue
            comparisons.append(
                {
                    "upsampler": kind,
                    "against": against,
                    "seed": seed,
                    "by_size": {
                        str(size): miou_difference_ci(
                            confusions[(kind, seed, size)], confusions[(against, seed, size)]
                        )
                        for size in sizes
                    },
                }
            )
    return comparisons


def _padding_keys(sizes) -> dict:
    return {
        "padded_sizes": [s for s in sizes if s % STRIDE],
        "padding": PADDING,
        "padding_note": PADDING_NOTE,
    }


def size_section(found, cache_dir: Path | None) -> dict:
    """The "sizes" section of metrics.json: every run at every size, and the paired bootstrap
    CIs of each learned upsampler against the bilinear twin of the same seed (and of every
    other learned kind against CARAFE of the same seed).

    ``"padded_sizes"``: the sizes the model pads (``"padding"``: how)."""
    runs = {
        (kind, seed): {"upsampler": kind, "seed": seed, "checkpoint": str(ckpt), "by_size": {}}
        for kind, seed, ckpt in found
    }
    confusions: dict[tuple, torch.Tensor] = {}
    for kind, seed, ckpt in found:
        scored = _scored_run(ckpt, cache_dir)
        runs[(kind, seed)]["by_size"] = scored["by_size"]
        for size in TABLE_SIZES:
            confusions[(kind, seed, size)] = scored["confusions"][str(size)]
    return {
        "sizes": list(TABLE_SIZES),
        **_padding_keys(TABLE_SIZES),
        "scenes": {str(k): v for k, v in SIZE_SCENES.items()},
        "working_range": list(WORKING_RANGE),
        "runs": list(runs.values()),
        "differences": _comparisons(found, confusions, TABLE_SIZES),
    }


def score_added(found, cache_dir: Path | None, store_dir: Path) -> dict:
    """Rows and CIs of the runs ``found`` (the shipped seed-0 files) at :data:`ADDED_SIZES`
    only: {"runs": {(kind, seed): (checkpoint, by_size)}, "differences": [...]} for
    :func:`merge_added_sizes`. Each run's scores are kept in ``store_dir/DIR_NAME.added.pt``."""
    runs, confusions = {}, {}
    for kind, seed, ckpt in found:
        cache = store_dir / f"{ckpt.parent.name}_{ckpt.stem}.added.pt"
        scored = _scored_run(ckpt, cache_dir, ADDED_SIZES, cache)
        runs[(kind, seed)] = (str(ckpt), scored["by_size"])
        for size in ADDED_SIZES:
            confusions[(kind, seed, size)] = scored["confusions"][str(size)]
    return {"runs": runs, "differences": _comparisons(found, confusions, ADDED_SIZES)}


def merge_added_sizes(section: dict, added: dict) -> dict:
    """A copy of the stored "sizes" ``section`` with the rows and CIs of :func:`score_added`
    added at their sizes (the runs and comparisons must already be in the table). Rows at the
    stored sizes are kept as they are: those are multiples of 32, where nothing is padded.

    ``"sizes"`` stays the list every run was measured at; ``"added_sizes"`` lists the others."""
    out = json.loads(json.dumps(section))
    runs = {(r["upsampler"], r["seed"]): r for r in out["runs"]}
    diffs = {(d["upsampler"], d["against"], d["seed"]): d for d in out["differences"]}
    missing = [key for key in added["runs"] if key not in runs] + [
        (d["upsampler"], d["against"], d["seed"])
        for d in added["differences"]
        if (d["upsampler"], d["against"], d["seed"]) not in diffs
    ]
    if missing:
        raise ValueError(f"not in the stored size table: {missing}; build it first (size_section)")
    new_sizes = set()
    for key, (ckpt, by_size) in added["runs"].items():
        runs[key]["by_size"].update(by_size)
        runs[key]["added_checkpoint"] = ckpt
        new_sizes |= {int(s) for s in by_size}
    for d in added["differences"]:
        diffs[(d["upsampler"], d["against"], d["seed"])]["by_size"].update(d["by_size"])
    new_sizes |= set(out.get("added_sizes", []))
    new_sizes -= set(out["sizes"])
    out["added_sizes"] = sorted(new_sizes)
    out["added_note"] = ADDED_NOTE
    out.update(_padding_keys(sorted({*out["sizes"], *new_sizes})))
    scenes = {int(k): v for k, v in out["scenes"].items()}
    scenes.update({s: SIZE_SCENES[s] for s in new_sizes})
    out["scenes"] = {str(k): scenes[k] for k in sorted(scenes)}
    return out


def _write_sections(path: Path, sections: dict) -> None:
    """Re-read ``path`` now (another process may have written other sections), replace
    ``sections`` in it and write it atomically (a temporary file, then a rename)."""
    payload = json.loads(path.read_text()) if path.is_file() else {}
    payload.update(sections)
    mode = path.stat().st_mode & 0o777 if path.is_file() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(payload, indent=2) + "\n")
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def photo_section(found) -> dict:
    """The "photos" section: own-region alignment on each whole held-out photograph."""
    photos = {name: heldout_photo(name) for name in SOURCE_PHOTOS["heldout"]}
    regions = {name: photo_regions(image) for name, image in photos.items()}
    runs = []
    for kind, seed, ckpt in found:
        model = load_checkpoint(ckpt)
        by_photo = {
            name: region_alignment(model, image, regions[name]) for name, image in photos.items()
        }
        if all(v is None for v in by_photo.values()):
            continue
        runs.append({"upsampler": kind, "seed": seed, "by_photo": by_photo})
    return {
        "long_side": 512,
        "segmentation": f"felzenszwalb(scale={REGION_SCALE})",
        "photos": list(photos),
        "runs": runs,
    }


def _fmt(value, digits=2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _share_cells(align: dict, methods: tuple[str, ...]) -> str:
    """ "own shares | off-centre shares" of one alignment result, methods joined by " / "."""
    own, off = align["own_object_share"], align["off_centre_own_share"]
    return (
        " / ".join(_fmt(own.get(m), 3) for m in methods)
        + " | "
        + " / ".join(_fmt(off.get(m), 3) for m in methods)
    )


def size_columns(sizes: dict) -> list[str]:
    """The size table's columns, in order: the sizes of every run and the added ones."""
    return [str(s) for s in sorted({*sizes["sizes"], *sizes.get("added_sizes", [])})]


def _padded_head(sizes: dict, columns: list[str]) -> str:
    padded = {str(s) for s in sizes.get("padded_sizes", [])}
    return " | ".join(f"{c} px" + ("*" if c in padded else "") for c in columns)


def size_markdown(sizes: dict, photos: dict | None = None) -> str:
    """The model card's size, difference, alignment and photo tables from metrics.json.

    A run or comparison not measured at a size shows "–" there; padded sizes are starred."""
    columns = size_columns(sizes)
    head = _padded_head(sizes, columns)
    lines = [
        f"| upsampler | seed | mIoU: {head} | boundary F: {head} |",
        "|---|---|" + "---|" * (2 * len(columns)),
    ]
    for run in sizes["runs"]:
        by = run["by_size"]
        lines.append(
            f"| {run['upsampler']} | {run['seed']} | "
            + " | ".join(_fmt(by.get(c, {}).get("miou")) for c in columns)
            + " | "
            + " | ".join(_fmt(by.get(c, {}).get("boundary_f")) for c in columns)
            + " |"
        )
    notes = []
    if set(columns) & {str(s) for s in sizes.get("padded_sizes", [])}:
        notes.append(
            "\\* " + (sizes.get("padding_note") or f"Padded ({sizes.get('padding', '?')}).")
        )
    if sizes.get("added_sizes") and sizes.get("added_note"):
        notes.append(sizes["added_note"])
    if notes:
        lines += ["", " ".join(notes)]
    lines += [
        "",
        f"| mIoU difference (95 % CI) | seed | {head} |",
        "|---|---|" + "---|" * len(columns),
    ]
    for diff in sizes["differences"]:
        cells = [
            "–"
            if d is None
            else f"{d['difference']:+.2f} [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]"
            for d in (diff["by_size"].get(c) for c in columns)
        ]
        lines.append(
            f"| {diff['upsampler']} − {diff['against']} | {diff['seed']} | "
            + " | ".join(cells)
            + " |"
        )
    methods = _share_methods(
        run["by_size"].get(c, {}).get("kernel_alignment") for run in sizes["runs"] for c in columns
    )
    lines += [
        "",
        "| run | size | own-object share: "
        + " / ".join(methods)
        + " | off-centre own share: "
        + " / ".join(methods)
        + " |",
        "|---|---|---|---|",
    ]
    for run in sizes["runs"]:
        for c in columns:
            align = run["by_size"].get(c, {}).get("kernel_alignment")
            if not align:
                continue
            lines.append(
                f"| {run['upsampler']} {run['seed']} | {c} px | {_share_cells(align, methods)} |"
            )
    if photos:
        lines += ["", photo_markdown(photos)]
    return "\n".join(lines)


def _share_methods(alignments) -> list[str]:
    """The methods of the share tables: every measured one but the uniform reference."""
    return [m for m in alignment_methods(alignments) if m != "uniform"]


def photo_markdown(photos: dict) -> str:
    """The model card's table of own-region shares on the held-out photographs."""
    methods = _share_methods(a for run in photos["runs"] for a in run["by_photo"].values())
    lines = [
        "| run | photo | straddling pixels | own-region share: "
        + " / ".join(methods)
        + " | off-centre own share: "
        + " / ".join(methods)
        + " |",
        "|---|---|---|---|---|",
    ]
    for run in photos["runs"]:
        for name, align in run["by_photo"].items():
            lines.append(
                f"| {run['upsampler']} {run['seed']} | {name} | {align['boundary_pixels']:,} "
                f"| {_share_cells(align, methods)} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """CLI: ``python -m carafe.training.sizes RUN_DIR... --json assets/metrics.json``."""
    p = argparse.ArgumentParser(prog="carafe-evaluate-sizes", description=__doc__)
    p.add_argument("paths", nargs="*", type=Path, help="run dirs or .safetensors files")
    p.add_argument("--json", type=Path, required=True, help="metrics file to update")
    p.add_argument("--cache-dir", type=Path, default=Path("runs/cache"))
    p.add_argument("--threads", type=int, default=None)
    p.add_argument(
        "--markdown", action="store_true", help="print the model card's tables of --json"
    )
    p.add_argument(
        "--score-only",
        action="store_true",
        help="score the runs (kept beside each checkpoint as NAME.sizes.pt) and write nothing else",
    )
    p.add_argument(
        "--added",
        action="store_true",
        help=(
            f"score the runs at the added sizes {', '.join(map(str, ADDED_SIZES))} only (the "
            "shipped seed-0 files, assets/*.safetensors) and merge their rows and CIs into "
            "the stored sizes section of --json; nothing else changes"
        ),
    )
    p.add_argument(
        "--store-dir",
        type=Path,
        default=Path("runs/sizes"),
        help="where --added keeps each run's scores (DIR_NAME.added.pt)",
    )
    args = p.parse_args(argv)
    if args.markdown:
        payload = json.loads(args.json.read_text())
        print(size_markdown(payload["sizes"], payload.get("photos")))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    found = _load_runs(args.paths)
    if args.added:
        added = score_added(found, args.cache_dir, args.store_dir)
        if args.score_only:
            return
        # merged into the section as it is now, re-read after the (long) scoring
        stored = json.loads(args.json.read_text())["sizes"]
        _write_sections(args.json, {"sizes": merge_added_sizes(stored, added)})
        print(f"merged the added sizes into the sizes section of {args.json}")
        return
    if args.score_only:
        for _, _, ckpt in found:
            _scored_run(ckpt, args.cache_dir)
        return
    sections = {"sizes": size_section(found, args.cache_dir), "photos": photo_section(found)}
    _write_sections(args.json, sections)
    print(f"wrote the sizes and photos sections of {args.json}")


if __name__ == "__main__":
    main()
