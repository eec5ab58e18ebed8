"""Held-out evaluation: mIoU, two boundary F-scores, kernel alignment, cost and latency.

    carafe-evaluate                       # every run under runs/ (else assets/)
    carafe-evaluate runs/carafe_s0 runs/bilinear_s0 --json assets/metrics.json

The held-out scenes are built from photographs never seen in training
(:data:`carafe.data.SOURCE_PHOTOS`). Metrics: mIoU over the classes present; boundary F
class-agnostic with a 1-pixel tolerance, and per class with a tolerance of 0.75 % of the image
diagonal (:mod:`carafe.metrics`); kernel alignment at object boundaries
(:mod:`carafe.alignment`); parameters and FLOPs as in the CARAFE paper
(:func:`carafe.nn.upsampler_cost`); CPU latency of one upsampler, every kind measured in the
same run (CARAFE through this project's op, DySample through ``grid_sample``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from carafe.assets import ASSETS_DIR
from carafe.models import (
    SegmentationModel,
    list_pretrained,
    load_checkpoint,
    load_pretrained,
)
from carafe.nn import UPSAMPLERS, build_upsampler, run_upsampler
from carafe.tools.timing import median_ms
from carafe.training.alignment import alignment_methods, kernel_alignment
from carafe.training.border import BAND, border_measures, ring_statistics
from carafe.training.data import load_split
from carafe.training.metrics import boundary_f_scores, class_boundary_f, mean_iou

__all__ = [
    "LATENCY_SHAPE",
    "evaluate_model",
    "predict",
    "scene_confusions",
    "scores",
    "SHIPPED_CHECK_IMAGES",
    "main",
    "markdown_tables",
    "means_over_seeds",
    "model_costs",
    "shipped_check",
    "upsampler_latency_ms",
]

LATENCY_SHAPE = (1, 64, 64, 64)  # the stride-8 map of a 512x512 image, 64 FPN channels
SHIPPED_CHECK_IMAGES = 64  # held-out scenes on which the shipped files are re-checked by tests


@torch.no_grad()
def predict(model: SegmentationModel, images: torch.Tensor, batch_size: int = 50) -> torch.Tensor:
    """Predicted class ids (N, H, W) uint8 of ``model`` on uint8 images (N, 3, H, W)."""
    model.eval()
    out = torch.empty((images.shape[0], *images.shape[-2:]), dtype=torch.uint8)
    for start in range(0, images.shape[0], batch_size):
        x = images[start : start + batch_size].float() / 255.0
        out[start : start + batch_size] = model(x).argmax(1).to(torch.uint8)
    return out


def scene_confusions(pred: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N, K, K) confusion matrix of each scene (rows: truth, columns: prediction)."""
    k = num_classes
    codes = labels.flatten(1).long() * k + pred.flatten(1).long()
    out = torch.zeros(pred.shape[0], k * k, dtype=torch.long)
    out.scatter_add_(1, codes, torch.ones_like(codes))
    return out.view(-1, k, k)


def scores(
    pred: torch.Tensor,
    labels: torch.Tensor,
    class_names: list[str],
    tolerance: int = 1,
    batch_size: int = 50,
) -> dict:
    """mIoU (%), both boundary F-scores (%) and per-class IoU of predictions against labels."""
    k = len(class_names)
    confusion = scene_confusions(pred, labels, k).sum(0)
    f_scores = []
    class_f = torch.zeros(k, dtype=torch.float64)
    class_count = torch.zeros(k, dtype=torch.long)
    for start in range(0, pred.shape[0], batch_size):
        p, y = pred[start : start + batch_size].long(), labels[start : start + batch_size].long()
        f_scores.append(boundary_f_scores(p, y, tolerance))
        score_sum, count = class_boundary_f(p, y, k)
        class_f += score_sum
        class_count += count
    miou, per_class = mean_iou(confusion)
    seen = class_count > 0
    return {
        "miou": 100 * miou,
        "boundary_f": 100 * float(torch.cat(f_scores).mean()),
        "class_boundary_f": 100 * float((class_f[seen] / class_count[seen]).mean()),
        "per_class_iou": {
            name: 100 * v for name, v in zip(class_names, per_class, strict=True) if v is not None
        },
    }


def evaluate_model(
    model: SegmentationModel,
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int = 50,
    tolerance: int = 1,
) -> dict:
    """mIoU (%), both boundary F-scores (%) and per-class IoU of ``model`` on uint8 images."""
    pred = predict(model, images, batch_size)
    return scores(pred, labels, model.class_names, tolerance, batch_size)


def model_costs(model: SegmentationModel, image_size: int) -> dict:
    """Upsampler params (one module, and all of the FPN), FLOPs per input pixel (one module)
    and MFLOPs of all upsampling steps of one ``image_size`` image; whole-model params."""
    neck = model.neck
    cost = neck.upsampler_cost()
    step_pixels = sum((image_size // stride) ** 2 for stride in neck.strides[1:])
    return {
        "upsampler_params": cost["params"],
        "upsampler_params_all": sum(p.numel() for p in neck.upsample_modules.parameters()),
        "upsampler_flops_per_input_pixel": cost["flops_per_input_pixel"],
        "upsampler_mflops_per_image": cost["flops_per_input_pixel"] * step_pixels / 1e6,
        "model_params": sum(p.numel() for p in model.parameters()),
    }


@torch.no_grad()
def upsampler_latency_ms(
    module: torch.nn.Module,
    shape: tuple[int, ...] = LATENCY_SHAPE,
    repeats: int = 20,
    kind: str | None = None,
) -> float:
    """Median forward time (ms) of one upsampler on a random (N, C, H, W) input, after warm-up;
    a guided ``kind`` also gets a random (N, C, 2H, 2W) guide (the finer lateral)."""
    module.eval()
    x = torch.randn(shape)
    n, c, h, w = shape
    guide = torch.randn(n, c, 2 * h, 2 * w)
    if kind is None:
        return median_ms(lambda: module(x), repeats, warmup=3)
    return median_ms(lambda: run_upsampler(kind, module, x, guide), repeats, warmup=3)


def shipped_check(images: torch.Tensor, labels: torch.Tensor) -> dict:
    """Metrics of the files shipped in assets/ on the first held-out scenes, so that a test can
    recompute them in seconds and notice a replaced or corrupted checkpoint."""
    n = SHIPPED_CHECK_IMAGES
    return {
        "heldout_images": n,
        "models": {
            name: evaluate_model(load_pretrained(name), images[:n], labels[:n])
            for name in list_pretrained()
        },
    }


def _find_checkpoints(paths: list[Path]) -> list[tuple[str, int, Path]]:
    """(upsampler, seed, checkpoint) for run dirs / checkpoint files; default: runs/ or assets/."""
    if not paths:
        paths = sorted(p.parent for p in Path("runs").glob("*/model.safetensors"))
    if not paths:
        paths = sorted(ASSETS_DIR.glob("*.safetensors"))
    found = []
    for path in paths:
        ckpt = path / "model.safetensors" if path.is_dir() else path
        if not ckpt.is_file():
            raise SystemExit(f"no checkpoint at {ckpt}")
        config = json.loads(ckpt.with_suffix(".json").read_text())
        seed = config.get("training", {}).get("seed", "?")
        found.append((config["upsampler"]["kind"], seed, ckpt))
    order = list(UPSAMPLERS)
    return sorted(found, key=lambda t: (order.index(t[0]), str(t[1])))


def _table(rows: list[dict]) -> str:
    head = (
        f"{'upsampler':<14}{'seed':>5}{'mIoU':>8}{'bound F':>9}{'class BF':>9}{'params':>9}"
        f"{'FLOPs/px':>10}{'MFLOPs':>8}{'ms':>7}  alignment own / off-centre"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        align = r.get("kernel_alignment")
        text = ""
        if align:
            own, off = align["own_object_share"], align["off_centre_own_share"]
            text = ", ".join(
                f"{n} {own[n]:.3f}/" + ("-" if off[n] is None else f"{off[n]:.3f}") for n in own
            )
        lines.append(
            f"{r['upsampler']:<14}{str(r['seed']):>5}{r['miou']:>8.2f}{r['boundary_f']:>9.2f}"
            f"{r['class_boundary_f']:>9.2f}{r['upsampler_params']:>9,}"
            f"{r['upsampler_flops_per_input_pixel']:>10,}{r['upsampler_mflops_per_image']:>8.2f}"
            f"{r['upsampler_latency_ms']:>7.2f}  {text}"
        )
    return "\n".join(lines)


def markdown_tables(rows: list[dict], means: list[dict]) -> str:
    """The model card's tables: one row per run, the means, and kernel alignment."""

    def fmt(value, digits=2):
        return (
            "–"
            if value is None
            else f"{value:,.{digits}f}"
            if isinstance(value, float)
            else f"{value:,}"
        )

    lines = [
        "| upsampler | seed | mIoU | boundary F (1 px) | class boundary F (0.75 % diag.) "
        "| params (one upsampler) | FLOPs / input px | ms (one upsampler) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows + means:
        lines.append(
            f"| {r['display_name']} | {r['seed']} | {fmt(r['miou'])} | {fmt(r['boundary_f'])} "
            f"| {fmt(r['class_boundary_f'])} | {fmt(r['upsampler_params'])} "
            f"| {fmt(r['upsampler_flops_per_input_pixel'])} | {fmt(r['upsampler_latency_ms'])} |"
        )
    methods = alignment_methods(r.get("kernel_alignment") for r in rows + means)
    lines += [
        "",
        "| run | measure | " + " | ".join(methods) + " |",
        "|---|---|" + "---|" * len(methods),
    ]
    for r in rows + means:
        align = r.get("kernel_alignment")
        if not align:
            continue
        for key, label in (
            ("own_object_share", "own-object share"),
            ("off_centre_own_share", "off-centre own share"),
        ):
            values = [fmt(align[key].get(m), 3) if m in align[key] else "" for m in methods]
            lines.append(
                f"| {r['display_name']} {r['seed']} | {label} | " + " | ".join(values) + " |"
            )
    return "\n".join(lines)


def _mean_of(values: list):
    """Mean of numbers, key by key of dicts (a key missing from some runs averages the rest)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if isinstance(present[0], dict):
        keys = dict.fromkeys(k for v in present for k in v)
        return {k: _mean_of([v.get(k) for v in present]) for k in keys}
    if isinstance(present[0], int | float) and not isinstance(present[0], bool):
        if all(v == present[0] for v in present):
            return present[0]  # counts and costs stay integers
        return sum(present) / len(present)
    return present[0]  # the same for every seed (e.g. the window size)


def means_over_seeds(rows: list[dict]) -> list[dict]:
    """One row per upsampler: every metric averaged over its seeds (a class absent from a run
    is left out of that class's mean)."""
    out = []
    for kind in dict.fromkeys(r["upsampler"] for r in rows):
        group = [r for r in rows if r["upsampler"] == kind]
        mean = {key: _mean_of([r.get(key) for r in group]) for key in group[0]}
        mean.update(seed="mean", checkpoint=None, num_seeds=len(group))
        out.append(mean)
    return out


def border_rows(found: list[tuple[str, int, Path]], images, labels) -> list[dict]:
    """The border measures (:mod:`carafe.training.border`) of each checkpoint, with its overall
    mIoU for reference."""
    rows = []
    for kind, seed, ckpt in found:
        model = load_checkpoint(ckpt)
        rows.append(
            {
                "upsampler": kind,
                "seed": seed,
                "checkpoint": str(ckpt),
                "miou": evaluate_model(model, images, labels)["miou"],
                **border_measures(model, images, labels),
            }
        )
    return rows


def snapshot_rows(folder: Path, images, labels) -> list[dict]:
    """Held-out metrics, kernel alignment and border-ring measures of every training snapshot
    ``step_NNNN.safetensors`` in ``folder`` (written by ``carafe-train --snapshots``)."""
    rows = []
    for ckpt in sorted(folder.glob("step_*.safetensors")):
        model = load_checkpoint(ckpt)
        steps = json.loads(ckpt.with_suffix(".json").read_text())["training"]["steps_done"]
        rows.append(
            {
                "steps_done": steps,
                "checkpoint": ckpt.name,
                **evaluate_model(model, images, labels),
                "kernel_alignment": kernel_alignment(model, images, labels),
                "border_ring": ring_statistics(model, images),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: evaluate checkpoints on the held-out split and print the table."""
    p = argparse.ArgumentParser(
        prog="carafe-evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="*", type=Path, help="run dirs or .safetensors files")
    p.add_argument("--heldout-images", type=int, default=500)
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--tolerance", type=int, default=1, help="class-agnostic boundary tolerance")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--cache-dir", type=Path, default=Path("runs/cache"))
    p.add_argument("--json", type=Path, default=None, help="also write the metrics here")
    p.add_argument("--markdown", action="store_true", help="also print the model card's tables")
    p.add_argument(
        "--border",
        type=Path,
        default=None,
        help="measure only the border behaviour of the checkpoints and store it in the "
        "'border' section of this JSON file (other checkpoints' rows and the rest are kept)",
    )
    p.add_argument(
        "--snapshots",
        type=Path,
        default=None,
        help="evaluate the training snapshots in this folder and write FOLDER/metrics.json",
    )
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_split("heldout", args.heldout_images, args.image_size, args.cache_dir)
    if args.snapshots:
        rows = snapshot_rows(args.snapshots, data.images, data.labels)
        out = args.snapshots / "metrics.json"
        payload = {
            "split": "heldout",
            "heldout_images": args.heldout_images,
            "image_size": args.image_size,
            "snapshots": rows,
        }
        out.write_text(json.dumps(payload, indent=2) + "\n")
        for r in rows:
            print(
                f"step {r['steps_done']:>4}: mIoU {r['miou']:6.2f}  boundary F {r['boundary_f']:6.2f}"
            )
        print(f"wrote {out}")
        return
    if args.border:
        rows = border_rows(_find_checkpoints(args.paths), data.images, data.labels)
        payload = json.loads(args.border.read_text()) if args.border.is_file() else {}
        # rows of other checkpoints measured before stay (one row per upsampler and seed)
        measured = {(r["upsampler"], str(r["seed"])) for r in rows}
        kept = [
            r
            for r in payload.get("border", {}).get("runs", [])
            if (r["upsampler"], str(r["seed"])) not in measured
        ]
        order = list(UPSAMPLERS)
        rows = sorted(kept + rows, key=lambda r: (order.index(r["upsampler"]), str(r["seed"])))
        payload["border"] = {"band_px": BAND, "heldout_images": args.heldout_images, "runs": rows}
        args.border.write_text(json.dumps(payload, indent=2) + "\n")
        for r in rows:
            print(
                f"{r['upsampler']:<10} seed {r['seed']}: band mIoU {r['band']['miou']:.2f}, "
                f"interior {r['interior']['miou']:.2f}"
            )
        print(f"wrote the border section of {args.border}")
        return
    found = _find_checkpoints(args.paths)
    modules = {}  # one upsampler of each kind, as configured in its checkpoint
    for kind, _, ckpt in found:
        cfg = json.loads(ckpt.with_suffix(".json").read_text())["upsampler"]
        options = {key: value for key, value in cfg.items() if key != "kind"}
        modules.setdefault(kind, build_upsampler(kind, LATENCY_SHAPE[1], 2, **options))
    latency = {kind: upsampler_latency_ms(m, kind=kind) for kind, m in modules.items()}
    rows = []
    for kind, seed, ckpt in found:
        model = load_checkpoint(ckpt)
        rows.append(
            {
                "upsampler": kind,
                "display_name": UPSAMPLERS[kind].display_name,
                "seed": seed,
                "checkpoint": str(ckpt),
                **evaluate_model(model, data.images, data.labels, tolerance=args.tolerance),
                **model_costs(model, args.image_size),
                "upsampler_latency_ms": latency[kind],
                "kernel_alignment": kernel_alignment(model, data.images, data.labels),
                "border": border_measures(model, data.images, data.labels),
            }
        )
    means = means_over_seeds(rows)
    print(
        f"held-out split: {args.heldout_images} scenes of {args.image_size}x{args.image_size} "
        "from unseen photographs; boundary F class-agnostic at "
        f"{args.tolerance}px, class BF per class at 0.75% of the diagonal; params and FLOPs per "
        "input pixel of one upsampler; MFLOPs of all upsampling steps per image; ms: one "
        f"upsampler forward on {LATENCY_SHAPE}, {torch.get_num_threads()} threads\n"
    )
    print(_table(rows))
    print("\nmeans over seeds\n" + _table(means))
    if args.markdown:
        print("\n" + markdown_tables(rows, means))
    if args.json:
        payload = {
            "split": "heldout",
            "heldout_images": args.heldout_images,
            "image_size": args.image_size,
            "boundary_tolerance_px": args.tolerance,
            "class_boundary_tolerance": "0.75% of the image diagonal",
            "latency": {"input_shape": list(LATENCY_SHAPE), "threads": torch.get_num_threads()},
            "runs": rows,
            "means": means,
        }
        payload["shipped_check"] = shipped_check(data.images, data.labels)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
