"""Fixtures of the op tests: the test-only C++ ops, built and loaded only when a test asks."""

import pytest
import torch

import carafe.ops as ops
from carafe.ops import _build


@pytest.fixture(scope="session")
def index_ops():
    """``torch.ops.carafe_testing``: the per-element index functions of csrc/carafe_index.h (the
    ones the CUDA kernels run) on the CPU. They live in a library of their own, never in the
    production one, so this fixture builds it into the cache (once) and loads it."""
    if not ops.backend().startswith(("cpp", "cuda")):
        pytest.skip(f"C++ extension not built: {ops.backend()}")
    _build.load_testing_ops()
    return torch.ops.carafe_testing
