"""Downloads: the kernels and maps of the current image as one .npz archive."""

from __future__ import annotations

import io

import numpy as np

#: What every array of a step holds, axes first (a step's arrays are named "<levels>_<name>").
STEP_ARRAYS = {
    "input": "(C, h, w) the coarser FPN map that is upsampled",
    "output_<kind>": "(C, h', w') that map upsampled by <kind> (the model's own kind is its "
    "real output), cropped to the finer level",
    "compressed": "(C_m, h, w) channel-compressor output",
    "encoder_logits": "(G*k*k*s*s, h, w) content-encoder output; channel (g*k*k + tap)*s*s + "
    "a*s + b feeds sub-pixel (a, b)",
    "kernel_logits": "(G*k*k, h', w') after the pixel shuffle, before the softmax; channel "
    "(g*k + dy)*k + dx",
    "kernels": "(G*k*k, h', w') the reassembly kernels (softmax over the k*k taps)",
    "entropy": "(G, h', w') kernel entropy in nats",
    "peak": "(G, h', w') largest tap weight",
    "com_dy": "(G, h', w') kernel centre of mass, rows from the window centre (+ = down)",
    "com_dx": "(G, h', w') kernel centre of mass, columns from the window centre (+ = right)",
}
_CARAFE_ARRAYS = [name for name in STEP_ARRAYS if name not in ("input", "output_<kind>")]


def step_prefix(step) -> str:
    """The name prefix of a step's arrays: its pyramid levels, e.g. "P5_to_P4_"."""
    return step.levels.replace("→", "_to_") + "_"


def download_npz(cur) -> bytes:
    """The image, segmentation and every step's maps and kernels (``state.Current``), each
    named by its step's levels, plus ``about``: what every array holds, axes first."""
    arrays = {"image": cur.image}
    about = ["image: (H, W, 3) uint8, the image the model saw"]
    a = cur.analysis
    if a.segmentation is not None:
        arrays["segmentation"] = a.segmentation
        about.append("segmentation: (H, W) class index per image pixel")
    for step in a.steps:
        p = step_prefix(step)
        about.append(
            f"{p}*: step {step.levels} (stride {step.stride_in} -> {step.stride_out}, "
            f"{step.kind}); h, w = {step.input.shape[1]}, {step.input.shape[2]}; "
            f"h', w' = {step.output.shape[1]}, {step.output.shape[2]}"
        )
        arrays[p + "input"] = step.input
        for kind, out in step.outputs.items():
            arrays[p + "output_" + kind] = out
        if step.carafe is not None:
            for name in _CARAFE_ARRAYS:
                arrays[p + name] = getattr(step.carafe, name)
    about += [f"<step>_{name}: {text}" for name, text in STEP_ARRAYS.items()]
    arrays["about"] = np.array("\n".join(about))
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()
