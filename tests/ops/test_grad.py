"""Second derivatives of the op: carafe_backward is itself differentiable (through the same
registered ops), checked by gradgradcheck in float64, for the C++ kernels and the reference
fallback."""

import itertools
import os
import subprocess
import sys
import textwrap

import pytest
import torch

import carafe.ops as ops
from carafe.ops.reference import carafe_reference, carafe_reference_backward
from tests.conftest import random_inputs

GEOMETRIES = list(itertools.product((1, 3, 5), (1, 2), (1, 2, 3)))  # k, G, s


def _leaf_inputs(k, g, s, seed=0):
    # A 2x3 map keeps gradgradcheck's numerical Jacobians small; with k >= 3 windows reach
    # into the zero padding, which the second derivatives must respect too.
    features, masks = random_inputs(1, 2 * g, 2, 3, k, g, s, seed=seed, normalised=False)
    return features.requires_grad_(), masks.requires_grad_()


@pytest.fixture
def one_thread():
    # Thousands of tiny calls: one thread avoids waking helpers for each of them.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("k,g,s", GEOMETRIES, ids=lambda v: str(v))
def test_gradgradcheck(k, g, s, one_thread):
    features, masks = _leaf_inputs(k, g, s)
    # The full numerical Jacobian for the smaller cases; for the big ones (thousands of mask
    # entries) gradgradcheck's fast mode, which compares random projections of it.
    fast = k * k * g * s * s > 50
    assert torch.autograd.gradgradcheck(
        lambda f, m: ops.carafe(f, m, k, g, s),
        (features, masks),
        raise_exception=True,
        fast_mode=fast,
    )


def test_second_derivatives_match_the_reference(one_thread):
    # A gradient penalty: d/d(f, m) of |d L / d f|^2 with L = sum(out^2), by the op and by the
    # reference's autograd graph (which differentiates unfold/mul/sum, not our formulas).
    features, masks = random_inputs(2, 6, 4, 5, 3, 3, 2, seed=3, normalised=False)
    grads = []
    for fn in (ops.carafe, carafe_reference):
        f, m = features.clone().requires_grad_(), masks.clone().requires_grad_()
        out = fn(f, m, 3, 3, 2)
        (g_f,) = torch.autograd.grad(out.pow(2).sum(), f, create_graph=True)
        grads.append(torch.autograd.grad(g_f.pow(2).sum(), (f, m)))
    for ours, expected in zip(*grads, strict=True):
        torch.testing.assert_close(ours, expected)


def test_reference_backward_formulas_match_autograd():
    # The fallback op's backward is written out (autograd is off inside an op's kernel).
    features, masks = random_inputs(2, 6, 5, 4, 5, 3, 3, seed=5, normalised=False)
    f, m = features.clone().requires_grad_(), masks.clone().requires_grad_()
    out = carafe_reference(f, m, 5, 3, 3)
    grad_output = torch.randn_like(out)
    out.backward(grad_output)
    grad_f, grad_m = carafe_reference_backward(grad_output, features, masks, 5, 3, 3)
    torch.testing.assert_close(grad_f, f.grad)
    torch.testing.assert_close(grad_m, m.grad)


REFERENCE_SCRIPT = textwrap.dedent("""
    import itertools, warnings, torch
    warnings.simplefilter("ignore")
    import carafe.ops as ops
    from tests.conftest import random_inputs
    assert ops.backend().startswith("reference"), ops.backend()
    torch.set_num_threads(1)
    for k, g, s in ((1, 2, 3), (3, 2, 2), (5, 1, 3)):
        f, m = random_inputs(1, 2 * g, 2, 3, k, g, s, normalised=False)
        f.requires_grad_(); m.requires_grad_()
        torch.autograd.gradgradcheck(
            lambda a, b: ops.carafe(a, b, k, g, s), (f, m), raise_exception=True, fast_mode=True
        )
    print("ok")
""")


def test_gradgradcheck_reference_fallback(tmp_path):
    env = {**os.environ, "CARAFE_FORCE_REFERENCE": "1", "CARAFE_BUILD_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", REFERENCE_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]
