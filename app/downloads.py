"""Downloads: the kernels and maps of the current image as one .npz archive."""

from __future__ import annotations

import io

import numpy as np

_CARAFE_ARRAYS = (
    "compressed",
    "encoder_logits",
    "kernel_logits",
    "kernels",
    "entropy",
    "peak",
    "com_dy",
    "com_dx",
)


def download_npz(cur) -> bytes:
    """The image, segmentation and every step's maps and kernels (``state.Current``)."""
    arrays = {"image": cur.image}
    a = cur.analysis
    if a.segmentation is not None:
        arrays["segmentation"] = a.segmentation
    for step in a.steps:
        p = f"step{step.index}_"
        arrays[p + "input"] = step.input
        for kind, out in step.outputs.items():
            arrays[p + "output_" + kind] = out
        if step.carafe is not None:
            for name in _CARAFE_ARRAYS:
                arrays[p + name] = getattr(step.carafe, name)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()
