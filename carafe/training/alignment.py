"""Do the kernels follow the objects? Kernel weight on the output pixel's own object, at edges.

At the finest upsampling step of a trained model (stride 8 -> 4), take every output pixel whose
k x k source window lies inside the map and holds both its own class and another (true labels
sampled at the pixel centres). For each way of filling that window, measure:

* own-object share: the kernel weight on taps of the pixel's own class;
* off-centre own share: of all the weight placed *off* the centre tap (over all those pixels),
  the part on the pixel's own class. A kernel that keeps most weight on the centre tap wins the
  first measure without looking at the content; this one it cannot win that way.

Kernels compared on the same pixels:

* the model's own kind (e.g. "carafe", "fade", "sapa": every upsampler of the "kernels"
  family): its kernel at its own pixel;
* "<kind>_moved": the same kernels, each moved to another boundary pixel (a content-blind
  control with the kind's own shapes: what is left of the score without the content);
* a "points" kind (e.g. "dysample"): the four bilinear taps around each group's sampling
  point, averaged over the groups (a sparse kernel; taps may lie outside the k x k window);
* "bilinear": the weights bilinear interpolation (align_corners=False) gives the same output
  pixel, written as a k x k kernel (up to four taps);
* "nearest": all weight on the centre tap; "uniform": 1/k² on every tap.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from carafe.nn import UPSAMPLERS
from carafe.nn.interpolation import bilinear_kernel_1d, bilinear_point_taps
from carafe.ops.geometry import pixel_centre

__all__ = [
    "ALIGNMENT_WINDOW",
    "REFERENCE_KERNELS",
    "alignment_methods",
    "bilinear_window_kernels",
    "kernel_alignment",
    "own_share_maps",
]

ALIGNMENT_WINDOW = 5  # the shipped kernels' k_up; point samplers are measured on the same pixels
#: Fixed reference kernels, measured on the same pixels for every model.
REFERENCE_KERNELS = ("bilinear", "nearest", "uniform")


def alignment_methods(alignments) -> list[str]:
    """Every method measured in ``alignments`` (results of :func:`kernel_alignment` or None), in
    first-seen order: the learned kinds and their moved controls, then the references."""
    names: dict[str, None] = {}
    for align in alignments:
        names.update(dict.fromkeys((align or {}).get("own_object_share", {})))
    learned = [n for n in names if n not in REFERENCE_KERNELS]
    return learned + [n for n in REFERENCE_KERNELS if n in names]


def _sample_labels(labels: torch.Tensor, stride: int, h: int, w: int) -> torch.Tensor:
    """(N, h, w) label at each map pixel's centre; -1 where the map lies past the image."""
    rows, cols = pixel_centre(torch.arange(h), stride), pixel_centre(torch.arange(w), stride)
    rows, cols = rows[rows < labels.shape[1]], cols[cols < labels.shape[2]]
    out = torch.full((labels.shape[0], h, w), -1, dtype=torch.long)
    out[:, : len(rows), : len(cols)] = labels[:, rows[:, None], cols[None, :]]
    return out


def _point_kernels(step, src, own, batch_idx, oy, ox) -> tuple[torch.Tensor, torch.Tensor]:
    """Own-object weight and off-centre (weight, own weight) of a point sampler's sparse kernels
    (DySample's: bilinear taps around each group's point)."""
    positions = step.details.positions  # from the model's own pass (nothing runs twice)
    h, w = step.input.shape[-2:]
    s = step.scale
    own_w = torch.zeros(len(batch_idx), dtype=torch.float64)
    off_w = torch.zeros_like(own_w)
    off_own = torch.zeros_like(own_w)
    groups = positions.shape[1]
    for g in range(groups):
        px = positions[batch_idx, g, oy, ox, 0]
        py = positions[batch_idx, g, oy, ox, 1]
        for ty, tx, tap_weight in bilinear_point_taps(px, py, h, w):
            weight = tap_weight / groups
            same = (src[batch_idx, ty, tx] == own).double()
            centre = (ty == oy // s) & (tx == ox // s)
            own_w += weight * same
            off_w += torch.where(centre, 0.0, weight)
            off_own += torch.where(centre, 0.0, weight * same)
    return own_w, torch.stack([off_w, off_own])


def _windows(labels, stride_in: int, stride_out: int, in_hw, out_hw, s: int, k: int):
    """Labels at the source map (N, h, w) and output (N, oh, ow) pixel centres, whether each
    tap of each output pixel's k x k window holds its own label (N, k², oh, ow), and which
    output pixels are straddling: the window lies inside the map and holds both its own label
    and another (N, oh, ow)."""
    (h, w), (oh, ow) = in_hw, out_hw
    src = _sample_labels(labels, stride_in, h, w)
    out = _sample_labels(labels, stride_out, oh, ow)
    r = (k - 1) // 2
    win = F.unfold(F.pad(src[:, None].float(), [r] * 4, value=-1), k).view(-1, k * k, h, w)
    win = win.repeat_interleave(s, 2).repeat_interleave(s, 3)[..., :oh, :ow].long()
    same = win == out[:, None]
    inside = (win >= 0).all(1)
    mixed = same.any(1) & (~same & (win >= 0)).any(1) & inside & (out >= 0)
    return src, out, same, mixed


def bilinear_window_kernels(k: int, s: int) -> torch.Tensor:
    """(s², k²) float64: the weights bilinear upsampling by ``s`` gives each output phase
    (dy * s + dx), written as a k x k kernel on the source window."""
    return torch.stack(
        [
            torch.outer(bilinear_kernel_1d(k, s, a), bilinear_kernel_1d(k, s, b)).flatten()
            for a in range(s)
            for b in range(s)
        ]
    )


@torch.no_grad()
def own_share_maps(
    kernels: torch.Tensor,
    labels: torch.Tensor,
    stride_in: int,
    stride_out: int,
    scale: int,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Per-pixel own-label shares of one upsampling step's kernels, where the window straddles.

    kernels: (N, k², oh, ow) reassembly kernels (groups averaged); labels: (N, H, W) ids of
    the image's classes or regions. Returns "straddling" (N, oh, ow) bool and, for "kernels"
    (the given kernels, of any kind), "moved" (each straddling pixel's kernel moved to another one,
    drawn with ``seed``: the content-blind control), "bilinear" and "nearest", (N, oh, ow)
    float64 own shares (NaN where the window does not straddle), and for "kernels" and
    "bilinear" the weight off the centre tap ("<name>_off_weight") and its part on the own label
    ("<name>_off_own"), (N, oh, ow) float64, NaN off the straddling pixels.
    """
    n, kk, oh, ow = kernels.shape
    k = int(round(kk**0.5))
    h, w = -(-oh // scale), -(-ow // scale)
    _, _, same, mixed = _windows(labels, stride_in, stride_out, (h, w), (oh, ow), scale, k)
    taps = same.double()
    rows, cols = torch.arange(oh)[:, None], torch.arange(ow)[None, :]
    bilinear = bilinear_window_kernels(k, scale)[(rows % scale) * scale + cols % scale]
    nan = torch.tensor(float("nan"), dtype=torch.float64)
    shares = {
        "kernels": (kernels.double() * taps).sum(1),
        "bilinear": (bilinear.permute(2, 0, 1)[None] * taps).sum(1),
        "nearest": taps[:, kk // 2],
    }
    out = {name: torch.where(mixed, value, nan) for name, value in shares.items()}
    # off the centre tap: the weight there and the part of it on the own label, per pixel
    off_centre = torch.ones(kk, dtype=torch.float64)
    off_centre[kk // 2] = 0.0
    for name, kern in (
        ("kernels", kernels.double()),
        ("bilinear", bilinear.permute(2, 0, 1)[None]),
    ):
        off = kern * off_centre[:, None, None]
        out[f"{name}_off_weight"] = torch.where(mixed, off.sum(1), nan)
        out[f"{name}_off_own"] = torch.where(mixed, (off * taps).sum(1), nan)
    own_kernels = kernels.double().permute(0, 2, 3, 1)[mixed]
    perm = torch.randperm(own_kernels.shape[0], generator=torch.Generator().manual_seed(seed))
    moved = torch.full_like(out["kernels"], float("nan"))
    moved[mixed] = (own_kernels[perm] * taps.permute(0, 2, 3, 1)[mixed]).sum(1)
    out["moved"] = moved
    out["straddling"] = mixed
    return out


@torch.no_grad()
def kernel_alignment(model, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 50):
    """Alignment measures (see the module docstring) of a model whose upsampler kind has the
    "alignment" measure in the registry (kernels or points family).

    images: (N, 3, H, W) uint8; labels: (N, H, W) class ids. Returns None for other kinds, else
    {"window", "boundary_pixels", "own_object_share": {method: mean},
    "off_centre_own_share": {method: share or None}}.
    """
    kind = model.neck.upsample_kind
    entry = UPSAMPLERS[kind]
    if "alignment" not in entry.measures:
        return None
    model.eval()
    k = ALIGNMENT_WINDOW
    generator = torch.Generator().manual_seed(0)
    own_sum: dict[str, float] = {}
    off_sum: dict[str, torch.Tensor] = {}
    pixels = 0
    for start in range(0, images.shape[0], batch_size):
        x = images[start : start + batch_size].float() / 255.0
        y = labels[start : start + batch_size]
        step = model.forward_with_intermediates(x).steps[-1]
        s = step.scale
        h, w = step.input.shape[-2:]
        oh, ow = step.output.shape[-2:]
        src, out, same, mixed = _windows(y, step.stride_in, step.stride_out, (h, w), (oh, ow), s, k)
        batch_idx, oy, ox = mixed.nonzero(as_tuple=True)
        if batch_idx.numel() == 0:
            continue
        taps = same.permute(0, 2, 3, 1)[mixed].double()  # (M, k²): tap on the own object
        phases = (oy % s) * s + ox % s
        bil = bilinear_window_kernels(k, s)
        kernels = {
            "bilinear": bil[phases],
            "nearest": F.one_hot(torch.tensor(k * k // 2), k * k).double().expand_as(taps),
            "uniform": torch.full_like(taps, 1.0 / (k * k)),
        }
        if entry.family == "kernels":
            module = step.module
            if module.up_kernel != k:
                raise ValueError(
                    f"alignment is measured on {k}x{k} windows, got k_up={module.up_kernel}"
                )
            g = module.up_group
            kern = step.details.kernels[..., :oh, :ow].reshape(-1, g, k * k, oh, ow).mean(1)
            own_k = kern.permute(0, 2, 3, 1)[mixed].double()
            kernels[kind] = own_k
            perm = torch.randperm(own_k.shape[0], generator=generator)
            kernels[f"{kind}_moved"] = own_k[perm]
        centre = torch.zeros(k * k, dtype=torch.float64)
        centre[k * k // 2] = 1.0
        for name, kern in kernels.items():
            off = kern * (1 - centre)
            own_sum[name] = own_sum.get(name, 0.0) + float((kern * taps).sum())
            part = torch.stack([off.sum(), (off * taps).sum()])
            off_sum[name] = off_sum.get(name, torch.zeros(2, dtype=torch.float64)) + part
        if entry.family == "points":
            own_w, off = _point_kernels(step, src, out[mixed], batch_idx, oy, ox)
            own_sum[kind] = own_sum.get(kind, 0.0) + float(own_w.sum())
            off_sum[kind] = off_sum.get(kind, torch.zeros(2, dtype=torch.float64))
            off_sum[kind] += off.sum(1)
        pixels += int(batch_idx.numel())
    order = (kind, f"{kind}_moved", *REFERENCE_KERNELS)
    names = [n for n in order if n in own_sum]
    return {
        "window": k,
        "boundary_pixels": pixels,
        "own_object_share": {n: own_sum[n] / max(pixels, 1) for n in names},
        "off_centre_own_share": {
            n: (float(off_sum[n][1] / off_sum[n][0]) if off_sum[n][0] > 1e-9 else None)
            for n in names
        },
    }
