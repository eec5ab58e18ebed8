"""Measure the photo models on the held-out photographs: do their kernels follow the photo?

    python -m carafe.training.photo_eval runs/photo/*/model.safetensors --json assets/metrics.json

For every photo model (kind, seed), on each held-out photograph (``SOURCE_PHOTOS["heldout"]``,
never read in training) at a long side of 256 and of 512 px:

* the own-region share and the off-centre own share of its finest step's kernels at pixels whose
  window straddles two Felzenszwalb regions (:func:`carafe.training.regions.region_alignment`),
  with the moved control, bilinear, nearest and uniform kernels on the same pixels;
* the two-resolution reconstruction loss (:func:`carafe.models.photo.reconstruction_loss`) of
  the photo at that long side (cropped to a multiple of 64 px), beside the bilinear control's.

Writes the ``photo_models`` section of metrics.json, including which targets hold
(:func:`photo_targets`): off-centre share at or above bilinear's on every photo at 512 px, the
own-region share at least 0.05 above the moved control, the guided kinds above CARAFE.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch

from carafe.models import load_checkpoint
from carafe.models.photo import reconstruction_loss
from carafe.nn import CONTROL_KIND, SUBJECT_KIND, UPSAMPLERS
from carafe.training.data import SOURCE_PHOTOS
from carafe.training.regions import REGION_SCALE, heldout_photo, photo_regions, region_alignment

__all__ = [
    "LONG_SIDES",
    "MOVED_MARGIN",
    "main",
    "photo_loss",
    "photo_markdown_tables",
    "photo_models_section",
    "photo_targets",
]

LONG_SIDES = (256, 512)
TARGET_SIDE = 512  # the targets are read at the size the app shows photos at
MOVED_MARGIN = 0.05  # own-region share at least this far above the moved control


@torch.no_grad()
def photo_loss(model, image: np.ndarray) -> float:
    """Two-resolution loss of ``model`` on one photo (H, W, 3) uint8, centre-cropped to a
    multiple of 2 x the coarsest stride."""
    d = 2 * model.size_divisor
    h, w = (image.shape[0] // d) * d, (image.shape[1] // d) * d
    y, x = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    crop = np.ascontiguousarray(image[y : y + h, x : x + w])
    full = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255.0
    return float(reconstruction_loss(model, full)[0])


def _run_config(ckpt: Path) -> tuple[str, int | None, dict]:
    """(kind, seed, training record) of a photo checkpoint, from its JSON."""
    config = json.loads(ckpt.with_suffix(".json").read_text())
    training = config.get("training", {})
    return config["upsampler"]["kind"], training.get("seed"), training


def photo_models_section(checkpoints: list[Path]) -> dict:
    """The ``photo_models`` section of metrics.json (see the module docstring)."""
    runs = []
    photos = {
        side: {name: heldout_photo(name, side) for name in SOURCE_PHOTOS["heldout"]}
        for side in LONG_SIDES
    }
    regions = {
        side: {name: photo_regions(image) for name, image in by.items()}
        for side, by in photos.items()
    }
    for ckpt in checkpoints:
        kind, seed, training = _run_config(ckpt)
        # kept beside the checkpoint, so runs can be measured as they finish
        cache = ckpt.with_name(ckpt.stem + ".photo_eval.json")
        stamp = ckpt.stat().st_mtime_ns
        if cache.is_file() and json.loads(cache.read_text()).get("stamp") == stamp:
            by_side = json.loads(cache.read_text())["by_side"]
        else:
            by_side = _measured(load_checkpoint(ckpt).eval(), f"{kind} s{seed}", photos, regions)
            cache.write_text(json.dumps({"stamp": stamp, "by_side": by_side}))
        runs.append(
            {
                "upsampler": kind,
                "seed": seed,
                "checkpoint": str(ckpt),
                "training": training,
                "by_side": by_side,
            }
        )
    section = {
        "long_sides": list(LONG_SIDES),
        "photos": list(SOURCE_PHOTOS["heldout"]),
        "segmentation": f"felzenszwalb(scale={REGION_SCALE})",
        "runs": runs,
    }
    section["targets"] = photo_targets(section)
    return section


def _measured(model, label: str, photos: dict, regions: dict) -> dict:
    """One model's alignment and loss on every held-out photo at every long side."""
    by_side = {}
    for side in LONG_SIDES:
        by_photo = {}
        for name, image in photos[side].items():
            align = region_alignment(model, image, regions[side][name])
            by_photo[name] = {"alignment": align, "loss": photo_loss(model, image)}
            print(f"{label} {side} px {name}: loss {by_photo[name]['loss']:.4f}", flush=True)
        by_side[str(side)] = by_photo
    return by_side


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def photo_targets(section: dict) -> list[dict]:
    """Every target for every run at :data:`TARGET_SIDE`, with the numbers that decide it:
    {"upsampler", "seed", "target", "held", "misses": [photo names], "values": {...}}."""
    side = str(TARGET_SIDE)
    out = []
    carafe_own = {}
    for run in section["runs"]:
        if run["upsampler"] == SUBJECT_KIND:
            carafe_own[run["seed"]] = _mean(
                p["alignment"]["own_object_share"][SUBJECT_KIND]
                for p in run["by_side"][side].values()
            )
    for run in section["runs"]:
        kind = run["upsampler"]
        if UPSAMPLERS[kind].family == "fixed":
            continue
        by = run["by_side"][side]
        off = {
            n: (
                p["alignment"]["off_centre_own_share"][kind],
                p["alignment"]["off_centre_own_share"][CONTROL_KIND],
            )
            for n, p in by.items()
        }
        misses = [n for n, (mine, bil) in off.items() if mine is None or mine < bil]
        out.append(
            {
                "upsampler": kind,
                "seed": run["seed"],
                "target": "off-centre own share at or above bilinear's on every photo",
                "held": not misses,
                "misses": misses,
                "values": {n: {kind: a, CONTROL_KIND: b} for n, (a, b) in off.items()},
            }
        )
        moved = f"{kind}_moved"
        if UPSAMPLERS[kind].family == "kernels":
            own = {
                n: (
                    p["alignment"]["own_object_share"][kind],
                    p["alignment"]["own_object_share"][moved],
                )
                for n, p in by.items()
            }
            misses = [n for n, (a, b) in own.items() if a < b + MOVED_MARGIN]
            out.append(
                {
                    "upsampler": kind,
                    "seed": run["seed"],
                    "target": f"own-region share at least {MOVED_MARGIN} above its moved control",
                    "held": not misses,
                    "misses": misses,
                    "values": {n: {kind: a, moved: b} for n, (a, b) in own.items()},
                }
            )
        if UPSAMPLERS[kind].needs_guide and carafe_own:
            mine = _mean(p["alignment"]["own_object_share"][kind] for p in by.values())
            ref = carafe_own.get(run["seed"], next(iter(carafe_own.values())))
            out.append(
                {
                    "upsampler": kind,
                    "seed": run["seed"],
                    "target": "mean own-region share above CARAFE's",
                    "held": mine > ref,
                    "misses": [] if mine > ref else ["mean"],
                    "values": {"mean": {kind: mine, SUBJECT_KIND: ref}},
                }
            )
    return out


def photo_markdown_tables(section: dict) -> str:
    """The model card's photo-model tables: shares per photo and size, losses, targets."""
    lines = [
        "| run | size | photo | straddling px | own-region share: model / moved / bilinear / "
        "nearest / uniform | off-centre own share: model / moved / bilinear / uniform | loss "
        "(bilinear control) |",
        "|---|---|---|---|---|---|---|",
    ]
    control = {
        (side, name): p["loss"]
        for run in section["runs"]
        if run["upsampler"] == CONTROL_KIND
        for side, by in run["by_side"].items()
        for name, p in by.items()
    }

    def cells(d: dict, keys) -> str:
        return " / ".join("–" if d.get(k) is None else f"{d[k]:.3f}" for k in keys)

    for run in section["runs"]:
        kind = run["upsampler"]
        keys = (kind, f"{kind}_moved", "bilinear", "nearest", "uniform")
        off_keys = (kind, f"{kind}_moved", "bilinear", "uniform")
        for side, by in run["by_side"].items():
            for name, p in by.items():
                a = p["alignment"]
                ctrl = control.get((side, name))
                loss = f"{p['loss']:.4f}" + (f" ({ctrl:.4f})" if ctrl is not None else "")
                if a is None:
                    lines.append(
                        f"| {kind} {run['seed']} | {side} px | {name} | – | – | – | {loss} |"
                    )
                    continue
                lines.append(
                    f"| {kind} {run['seed']} | {side} px | {name} | {a['boundary_pixels']:,} | "
                    f"{cells(a['own_object_share'], keys)} | "
                    f"{cells(a['off_centre_own_share'], off_keys)} | {loss} |"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: measure and write the ``photo_models`` section."""
    p = argparse.ArgumentParser(
        prog="carafe-photo-eval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--json", type=Path, required=True, help="metrics.json to update")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    section = photo_models_section(args.checkpoints)
    payload = json.loads(args.json.read_text()) if args.json.is_file() else {}
    payload["photo_models"] = section
    tmp = args.json.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(args.json)
    print(photo_markdown_tables(section))
    for t in section["targets"]:
        print(
            t["upsampler"], t["seed"], t["target"], "HELD" if t["held"] else f"MISSED {t['misses']}"
        )


if __name__ == "__main__":
    main()
