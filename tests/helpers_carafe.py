"""Random CARAFE inputs shared by the operator tests (never zeros or ones)."""

import torch


def random_inputs(n, c, h, w, k, g, s, dtype=torch.float64, device="cpu", seed=0, normalised=True):
    """features ~ N(0, 1); masks softmax-normalised per group over the k*k taps (as CARAFEPack
    makes them) or raw N(0, 1) values, which exercise the maths harder."""
    gen = torch.Generator().manual_seed(seed)
    features = torch.randn(n, c, h, w, generator=gen, dtype=torch.float64)
    masks = torch.randn(n, g, k * k, h * s, w * s, generator=gen, dtype=torch.float64)
    if normalised:
        masks = masks.softmax(dim=2)
    masks = masks.reshape(n, g * k * k, h * s, w * s)
    return features.to(device=device, dtype=dtype), masks.to(device=device, dtype=dtype)
