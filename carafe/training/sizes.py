"""Held-out scores across image sizes: does a model work at the sizes the app shows it?

Scenes are generated at each size with :func:`carafe.training.data.make_scene`, so objects
scale with the scene: a 512-px scene holds objects four times the radius of a 128-px one, and
its edges stay as sharp. At each size this measures mIoU, boundary F and class boundary F, the
kernel alignment at boundaries (own-object and off-centre own share, with the moved control
and bilinear; :mod:`carafe.training.alignment`), and a paired bootstrap over scenes of the mIoU
difference between two models (CARAFE and its bilinear twin of the same seed).
"""

from __future__ import annotations

import argparse
import json
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
    "BOOTSTRAP_SAMPLES",
    "SIZE_SCENES",
    "TABLE_SIZES",
    "WORKING_RANGE",
    "batch_for_size",
    "main",
    "miou_difference_ci",
    "photo_section",
    "size_markdown",
    "size_row",
    "size_section",
]

TABLE_SIZES = (128, 256, 384, 512)
# Fewer scenes at the big sizes: 200 scenes of 512 px hold 6x the pixels of 500 at 128 px.
SIZE_SCENES = {128: 500, 256: 200, 384: 200, 512: 200}
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


def _scored_run(ckpt: Path, cache_dir: Path | None) -> dict:
    """One checkpoint's rows and per-scene confusions at every size, kept beside it in
    ``NAME.sizes.pt`` so that runs can be scored as they finish and assembled later."""
    cache = ckpt.with_name(ckpt.stem + ".sizes.pt")
    stamp = ckpt.stat().st_mtime_ns
    if cache.is_file():
        saved = torch.load(cache, weights_only=True)
        if saved.get("stamp") == stamp and saved.get("sizes") == list(TABLE_SIZES):
            return saved
    model = load_checkpoint(ckpt)
    by_size, confusions = {}, {}
    for size in TABLE_SIZES:
        data = load_split("heldout", SIZE_SCENES[size], size, cache_dir)
        row, conf = size_row(model, data.images, data.labels)
        by_size[str(size)], confusions[str(size)] = row, conf
        print(f"{size:>4} px  {ckpt}: mIoU {row['miou']:6.2f}", flush=True)
    saved = {
        "stamp": stamp,
        "sizes": list(TABLE_SIZES),
        "by_size": by_size,
        "confusions": confusions,
    }
    torch.save(saved, cache)
    return saved


def size_section(found, cache_dir: Path | None) -> dict:
    """The "sizes" section of metrics.json: every run at every size, and the paired bootstrap
    CIs of each learned upsampler against the bilinear twin of the same seed."""
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
    comparisons = []
    for against in (CONTROL_KIND, SUBJECT_KIND):  # every learned kind vs the twin and vs CARAFE
        for kind, seed, _ in found:
            if kind in (CONTROL_KIND, against) or (against, seed) not in runs:
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
                        for size in TABLE_SIZES
                    },
                }
            )
    return {
        "sizes": list(TABLE_SIZES),
        "scenes": {str(k): v for k, v in SIZE_SCENES.items()},
        "working_range": list(WORKING_RANGE),
        "runs": list(runs.values()),
        "differences": comparisons,
    }


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


def size_markdown(sizes: dict, photos: dict | None = None) -> str:
    """The model card's size, difference, alignment and photo tables from metrics.json."""
    columns = [str(s) for s in sizes["sizes"]]
    head = " | ".join(f"{c} px" for c in columns)
    lines = [
        f"| upsampler | seed | mIoU: {head} | boundary F: {head} |",
        "|---|---|" + "---|" * (2 * len(columns)),
    ]
    for run in sizes["runs"]:
        by = run["by_size"]
        lines.append(
            f"| {run['upsampler']} | {run['seed']} | "
            + " | ".join(_fmt(by[c]["miou"]) for c in columns)
            + " | "
            + " | ".join(_fmt(by[c]["boundary_f"]) for c in columns)
            + " |"
        )
    lines += [
        "",
        f"| mIoU difference (95 % CI) | seed | {head} |",
        "|---|---|" + "---|" * len(columns),
    ]
    for diff in sizes["differences"]:
        cells = [
            f"{d['difference']:+.2f} [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]"
            for d in (diff["by_size"][c] for c in columns)
        ]
        lines.append(
            f"| {diff['upsampler']} − {diff['against']} | {diff['seed']} | "
            + " | ".join(cells)
            + " |"
        )
    methods = _share_methods(
        run["by_size"][c].get("kernel_alignment") for run in sizes["runs"] for c in columns
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
            align = run["by_size"][c].get("kernel_alignment")
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
    args = p.parse_args(argv)
    if args.markdown:
        payload = json.loads(args.json.read_text())
        print(size_markdown(payload["sizes"], payload.get("photos")))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    found = _load_runs(args.paths)
    if args.score_only:
        for _, _, ckpt in found:
            _scored_run(ckpt, args.cache_dir)
        return
    payload = json.loads(args.json.read_text()) if args.json.is_file() else {}
    payload["sizes"] = size_section(found, args.cache_dir)
    payload["photos"] = photo_section(found)
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote the sizes and photos sections of {args.json}")


if __name__ == "__main__":
    main()
