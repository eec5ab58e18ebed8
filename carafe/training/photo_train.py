"""Train a photo model: the FPN and its upsamplers, without labels, on whole photographs.

    python -m carafe.training.photo_train --upsampler carafe --seed 0 --out runs/photo/carafe_s0
    python -m carafe.training.photo_train --upsampler carafe --out runs/photo/carafe_s0 --resume

Every step takes a batch of random crops (sizes from ``--crop-sizes``, each a multiple of 64)
of the training split's photographs (``SOURCE_PHOTOS["train"]``, at zoom 1 and 1/2, random
flips); the objective is :func:`carafe.models.photo.reconstruction_loss`: from the half-size
crop, rebuild the full-size crop's frozen backbone maps. The held-out photographs are never
read. Batches and flips come from (seed, step) alone, so ``--resume`` continues exactly.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from carafe.models import PhotoModel, default_config, photo_config, save_checkpoint
from carafe.models.photo import reconstruction_loss
from carafe.nn import UPSAMPLERS
from carafe.training.data import CLASS_NAMES, photo_textures
from carafe.training.train import load_imagenet_backbone, lr_factor

__all__ = ["build_photo_model", "main", "parse_args", "photo_batch", "train_photo"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see ``python -m carafe.training.photo_train --help``)."""
    p = argparse.ArgumentParser(
        prog="carafe-train-photo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--upsampler", choices=sorted(UPSAMPLERS), default="carafe")
    p.add_argument("--out", required=True, type=Path, help="run directory")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument(
        "--crop-sizes",
        type=lambda text: sorted({int(v) for v in text.split(",") if v.strip()}),
        default=[128, 192, 256, 320, 384],
        help="full-size crop sizes (multiples of 64); the FPN runs on half of each",
    )
    p.add_argument("--fpn-channels", type=int, default=64)
    p.add_argument("--checkpoint-every", type=int, default=100)
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--no-pretrained",
        action="store_true",
        help="a random (frozen) backbone instead of ImageNet's: for tests only, the maps it "
        "gives teach nothing",
    )
    return p.parse_args(argv)


def build_photo_model(kind: str, fpn_channels: int = 64, pretrained: bool = True) -> PhotoModel:
    """A fresh photo model with ``kind`` upsamplers and the ImageNet MobileNetV2 backbone
    (``pretrained=False``: a random one, for tests)."""
    scene = default_config(kind, len(CLASS_NAMES), list(CLASS_NAMES), fpn_channels)
    model = PhotoModel(photo_config(scene))
    if pretrained:
        load_imagenet_backbone(model)
    return model


def photo_batch(seed: int, step: int, batch: int, crop_sizes: list[int]) -> torch.Tensor:
    """(batch, 3, S, S) float crops of the training photos, drawn from (seed, step) alone."""
    rng = np.random.default_rng([seed, step])
    size = int(crop_sizes[rng.integers(len(crop_sizes))])
    photos = [p for p in photo_textures("train") if min(p.shape[:2]) >= size]
    crops = np.empty((batch, size, size, 3), np.float32)
    for i in range(batch):
        photo = photos[rng.integers(len(photos))]
        y = rng.integers(photo.shape[0] - size + 1)
        x = rng.integers(photo.shape[1] - size + 1)
        crop = photo[y : y + size, x : x + size]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        if rng.random() < 0.5:
            crop = crop[::-1]
        crops[i] = crop
    return torch.from_numpy(crops).permute(0, 3, 1, 2).contiguous()


def _save_state(path: Path, model, optimizer, step: int, args: argparse.Namespace) -> None:
    tmp = path.with_suffix(".tmp")
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step}
    torch.save({**state, "upsampler": args.upsampler, "seed": args.seed}, tmp)
    tmp.replace(path)


def train_photo(args: argparse.Namespace) -> Path:
    """Run photo training; returns the final checkpoint path."""
    if args.threads:
        torch.set_num_threads(args.threads)
    bad = [s for s in args.crop_sizes if s % 64]
    if bad:
        raise SystemExit(f"--crop-sizes must be multiples of 64, got {bad}")
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    model = build_photo_model(args.upsampler, args.fpn_channels, not args.no_pretrained)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    state_path = args.out / "last.pt"
    start = 0
    if args.resume and state_path.is_file():
        state = torch.load(state_path, weights_only=True)
        if state["upsampler"] != args.upsampler or state["seed"] != args.seed:
            raise SystemExit(f"--resume: {state_path} is another run ({state['upsampler']})")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["step"]
    model.train()
    log = (args.out / "log.jsonl").open("a")
    t0 = time.time()
    bar = tqdm(range(start, args.steps), initial=start, total=args.steps, mininterval=10.0)
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = args.lr * lr_factor(step, args.steps, args.warmup)
        loss, per_step = reconstruction_loss(
            model, photo_batch(args.seed, step, args.batch_size, args.crop_sizes)
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if step % 20 == 0 or step + 1 == args.steps:
            row = {"step": step, "loss": loss.item(), "steps": per_step}
            log.write(json.dumps({**row, "seconds": round(time.time() - t0, 1)}) + "\n")
            log.flush()
        if (step + 1) % args.checkpoint_every == 0 or step + 1 == args.steps:
            _save_state(state_path, model, optimizer, step + 1, args)
    model.config["training"] = {
        "objective": "two-resolution reconstruction of the frozen backbone's maps",
        "upsampler": args.upsampler,
        "seed": args.seed,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "crop_sizes": list(args.crop_sizes),
        "photos": "SOURCE_PHOTOS['train'] at zoom 1 and 1/2, random flips",
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "warmup": args.warmup,
        "pretrained_backbone": not args.no_pretrained,
        "resumed_from": start,
        "seconds_this_session": round(time.time() - t0, 1),
    }
    log.close()
    return save_checkpoint(model, args.out / "model.safetensors", half=True)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    path = train_photo(parse_args(argv))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
