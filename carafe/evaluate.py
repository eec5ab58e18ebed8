"""Held-out evaluation: mIoU, boundary F-score, params and FLOPs per upsampler and seed.

    python -m carafe.evaluate                       # every run under runs/ (else assets/)
    python -m carafe.evaluate runs/carafe_s0 runs/bilinear_s0 --json metrics.json

Boundary F (Csurka et al. 2013, class-agnostic): boundary pixels are those whose label differs
from a 4-neighbour's; a predicted boundary pixel is correct if a ground-truth boundary pixel lies
within ``--tolerance`` pixels (Chebyshev distance), and vice versa for recall; F is computed per
image and averaged.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F

from carafe.data import load_split
from carafe.models import ASSETS_DIR, SegmentationModel, load_checkpoint
from carafe.nn import upsampler_cost

__all__ = [
    "boundary_map",
    "boundary_f_scores",
    "evaluate_model",
    "kernel_alignment",
    "main",
    "mean_iou",
    "model_costs",
]


def boundary_map(labels: torch.Tensor) -> torch.Tensor:
    """(N, H, W) labels -> bool (N, H, W): pixels whose label differs from a 4-neighbour's."""
    edge = torch.zeros(labels.shape, dtype=torch.bool, device=labels.device)
    dy = labels[:, 1:, :] != labels[:, :-1, :]
    dx = labels[:, :, 1:] != labels[:, :, :-1]
    edge[:, 1:, :] |= dy
    edge[:, :-1, :] |= dy
    edge[:, :, 1:] |= dx
    edge[:, :, :-1] |= dx
    return edge


def _dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    if radius == 0:
        return mask
    size = 2 * radius + 1
    return F.max_pool2d(mask[:, None].float(), size, 1, radius)[:, 0] > 0


def boundary_f_scores(pred: torch.Tensor, target: torch.Tensor, tolerance: int = 1) -> torch.Tensor:
    """Per-image boundary F-scores (N,) of predicted vs true label maps (N, H, W).

    Images where neither map has a boundary score 1; where only one has, 0.
    """
    bp, bt = boundary_map(pred), boundary_map(target)
    hit_p = (bp & _dilate(bt, tolerance)).flatten(1).sum(1).float()
    hit_t = (bt & _dilate(bp, tolerance)).flatten(1).sum(1).float()
    n_p, n_t = bp.flatten(1).sum(1).float(), bt.flatten(1).sum(1).float()
    precision = hit_p / n_p.clamp(min=1)
    recall = hit_t / n_t.clamp(min=1)
    f = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    return torch.where((n_p == 0) & (n_t == 0), torch.ones_like(f), f)


def mean_iou(confusion: torch.Tensor) -> tuple[float, list[float]]:
    """mIoU and per-class IoU from a (K, K) confusion matrix (rows: truth, cols: prediction)."""
    confusion = confusion.double()
    inter = confusion.diag()
    union = confusion.sum(0) + confusion.sum(1) - inter
    iou = inter / union.clamp(min=1)
    return float(iou.mean()), [float(v) for v in iou]


@torch.no_grad()
def kernel_alignment(
    model: SegmentationModel, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 50
) -> dict | None:
    """How much of the finest CARAFE step's kernel weight stays on the output pixel's object.

    For every output pixel whose k x k source window holds both its own class and another
    (true labels sampled at the pixel centres; taps outside the map count as neither), sum the kernel weight on the taps of its own
    class. Returns the mean of that ("same_object_mass") and of what a uniform kernel would
    give ("uniform_mass"), or None for models whose neck does not use CARAFE.
    """
    if model.neck.upsample_kind != "carafe":
        return None
    model.eval()
    k = model.neck.upsample_modules[0].up_kernel
    same_mass, uniform_mass = [], []
    for start in range(0, images.shape[0], batch_size):
        x = images[start : start + batch_size].float() / 255.0
        y = labels[start : start + batch_size]
        step = model.forward_with_intermediates(x)["steps"][-1]
        s_in, s_out = step["stride_in"], step["stride_out"]
        h, w = step["input"].shape[-2:]
        src = y[:, s_in // 2 :: s_in, s_in // 2 :: s_in][:, None, :h, :w].float()
        out = y[:, s_out // 2 :: s_out, s_out // 2 :: s_out][:, None].float()
        windows = F.unfold(F.pad(src, [(k - 1) // 2] * 4, value=-1), k).view(-1, k * k, h, w)
        windows = windows.repeat_interleave(2, 2).repeat_interleave(2, 3)
        same = windows[..., : out.shape[-2], : out.shape[-1]] == out
        other = ~same & (windows[..., : out.shape[-2], : out.shape[-1]] >= 0)  # not padding
        mixed = same.any(1) & other.any(1)
        kernels = step["carafe"].kernels[..., : out.shape[-2], : out.shape[-1]]
        same_mass.append((kernels * same).sum(1)[mixed])
        uniform_mass.append(same.float().mean(1)[mixed])
    return {
        "same_object_mass": float(torch.cat(same_mass).mean()),
        "uniform_mass": float(torch.cat(uniform_mass).mean()),
        "boundary_pixels": int(torch.cat(same_mass).numel()),
    }


@torch.no_grad()
def evaluate_model(
    model: SegmentationModel,
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int = 50,
    tolerance: int = 1,
) -> dict:
    """mIoU (%), boundary F (%) and per-class IoU of ``model`` on uint8 images / labels."""
    model.eval()
    k = model.num_classes
    confusion = torch.zeros(k, k, dtype=torch.long)
    f_scores = []
    for start in range(0, images.shape[0], batch_size):
        x = images[start : start + batch_size].float() / 255.0
        y = labels[start : start + batch_size]
        pred = model(x).argmax(1)
        confusion += torch.bincount(y.flatten() * k + pred.flatten(), minlength=k * k).view(k, k)
        f_scores.append(boundary_f_scores(pred, y, tolerance))
    miou, per_class = mean_iou(confusion)
    return {
        "miou": 100 * miou,
        "boundary_f": 100 * float(torch.cat(f_scores).mean()),
        "per_class_iou": dict(zip(model.class_names, [100 * v for v in per_class], strict=True)),
    }


def model_costs(model: SegmentationModel, image_size: int) -> dict:
    """Upsampler params/FLOPs (one module, per input pixel, and all steps at ``image_size``)."""
    neck = model.neck
    cost = upsampler_cost(neck.upsample_kind, neck.out_channels, 2, **neck.upsample_cfg)
    step_pixels = sum((image_size // stride) ** 2 for stride in neck.strides[1:])
    return {
        "upsampler_params": sum(p.numel() for p in neck.upsample_modules.parameters()),
        "upsampler_flops_per_input_pixel": cost["flops_per_input_pixel"],
        "upsampler_mflops_per_image": cost["flops_per_input_pixel"] * step_pixels / 1e6,
        "model_params": sum(p.numel() for p in model.parameters()),
    }


def _find_checkpoints(paths: list[Path]) -> list[tuple[str, int, Path]]:
    """(upsampler, seed, checkpoint) for run dirs / checkpoint files; default: runs/ or assets/."""
    if not paths:
        paths = sorted(p.parent for p in Path("runs").glob("*/model.safetensors"))
    if not paths:
        paths = [ASSETS_DIR / f"{name}.safetensors" for name in ("carafe", "bilinear")]
    found = []
    for path in paths:
        ckpt = path / "model.safetensors" if path.is_dir() else path
        if not ckpt.is_file():
            raise SystemExit(f"no checkpoint at {ckpt}")
        config = json.loads(ckpt.with_suffix(".json").read_text())
        seed = config.get("training", {}).get("seed", "?")
        found.append((config["upsampler"]["kind"], seed, ckpt))
    return sorted(found, key=lambda t: (t[0] != "carafe", t[0], str(t[1])))


def _table(rows: list[dict]) -> str:
    head = (
        f"{'upsampler':<14}{'seed':>5}{'mIoU':>8}{'bound F':>9}{'up params':>11}"
        f"{'up FLOPs/px':>13}{'up MFLOPs':>11}{'params':>11}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['upsampler']:<14}{str(r['seed']):>5}{r['miou']:>8.2f}"
            f"{r['boundary_f']:>9.2f}{r['upsampler_params']:>11,}"
            f"{r['upsampler_flops_per_input_pixel']:>13,}"
            f"{r['upsampler_mflops_per_image']:>11.2f}{r['model_params']:>11,}"
        )
    return "\n".join(lines)


def _means(rows: list[dict]) -> list[dict]:
    out = []
    for kind in dict.fromkeys(r["upsampler"] for r in rows):
        group = [r for r in rows if r["upsampler"] == kind]
        mean = dict(group[0], seed="mean", checkpoint=None)
        for key in ("miou", "boundary_f"):
            mean[key] = sum(r[key] for r in group) / len(group)
        mean["num_seeds"] = len(group)
        out.append(mean)
    return out


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: evaluate checkpoints on the held-out split and print the table."""
    p = argparse.ArgumentParser(
        prog="python -m carafe.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="*", type=Path, help="run dirs or .safetensors files")
    p.add_argument("--val-images", type=int, default=500)
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--tolerance", type=int, default=1, help="boundary tolerance in pixels")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--cache-dir", type=Path, default=Path("runs/cache"))
    p.add_argument("--json", type=Path, default=None, help="also write the metrics here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_split("heldout", args.val_images, args.image_size, args.cache_dir)
    rows = []
    for kind, seed, ckpt in _find_checkpoints(args.paths):
        model = load_checkpoint(ckpt)
        metrics = evaluate_model(model, data.images, data.labels, tolerance=args.tolerance)
        rows.append(
            {
                "upsampler": kind,
                "seed": seed,
                "checkpoint": str(ckpt),
                **metrics,
                **model_costs(model, args.image_size),
                "kernel_alignment": kernel_alignment(model, data.images, data.labels),
            }
        )
    means = _means(rows)
    print(
        f"held-out split: {args.val_images} scenes of {args.image_size}x{args.image_size}, "
        f"boundary tolerance {args.tolerance}px; FLOPs per input pixel of one upsampler, "
        f"MFLOPs of all upsampling steps per image\n"
    )
    print(_table(rows))
    print("\nmeans over seeds\n" + _table(means))
    if args.json:
        payload = {
            "split": "val",
            "val_images": args.val_images,
            "image_size": args.image_size,
            "boundary_tolerance_px": args.tolerance,
            "runs": rows,
            "means": means,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
