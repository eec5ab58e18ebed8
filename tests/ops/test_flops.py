"""FLOP counting: torch.utils.flop_counter.FlopCounterMode counts the CARAFE op, a CARAFEPack
and the shipped model, in torch's convention for convolutions (a multiply-add is 2 FLOPs)."""

import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import carafe.ops as ops
from carafe.nn import CARAFEPack, upsampler_cost
from tests.conftest import random_inputs

CARAFE = torch.ops.carafe.carafe
CARAFE_BACKWARD = torch.ops.carafe.carafe_backward
SHAPES = [  # (k, G, s), all with N = 2
    (1, 1, 1),
    (1, 2, 3),
    (3, 1, 2),
    (3, 2, 1),
    (3, 2, 3),
    (5, 1, 2),
    (5, 2, 3),
]


def _counts(fn) -> dict:
    """FlopCounterMode's per-op counts of everything fn() runs (the 'Global' table)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_flop_counts().get("Global", {})


def _reassembly_flops(n, c, h, w, k, s) -> int:
    """k*k multiply-adds (2 FLOPs each) per output value, written out by loops over the
    output's axes instead of a product of sizes."""
    per_value = sum(2 for _ in range(k * k))
    values = sum(1 for _ in range(n) for _ in range(c) for _ in range(h * s) for _ in range(w * s))
    return per_value * values


@pytest.mark.parametrize("k, g, s", SHAPES)
def test_forward_count_is_two_k_squared_per_output_value(k, g, s):
    n, c, h, w = 2, 4 * g, 5, 3
    features, masks = random_inputs(n, c, h, w, k, g, s, dtype=torch.float32)
    counts = _counts(lambda: ops.carafe(features, masks, k, g, s))
    assert counts == {CARAFE: _reassembly_flops(n, c, h, w, k, s)}


@pytest.mark.parametrize("k, g, s", SHAPES)
def test_backward_counts_both_gradients(k, g, s):
    n, c, h, w = 2, 2 * g, 4, 6
    features, masks = random_inputs(n, c, h, w, k, g, s, dtype=torch.float32)
    features.requires_grad_()
    masks.requires_grad_()
    grad_output = torch.randn(n, c, h * s, w * s)
    counts = _counts(lambda: ops.carafe(features, masks, k, g, s).backward(grad_output))
    forward = _reassembly_flops(n, c, h, w, k, s)
    # the gradient wrt the features and the one wrt the masks, each as costly as the forward
    assert counts == {CARAFE: forward, CARAFE_BACKWARD: 2 * forward}
    assert features.grad is not None and masks.grad is not None


def test_backward_is_counted_in_full_when_only_one_gradient_is_needed():
    # The op always computes both gradients (its schema has no output mask), so both count.
    k, g, s = 3, 1, 2
    features, masks = random_inputs(2, 3, 4, 5, k, g, s, dtype=torch.float32)
    features.requires_grad_()
    counts = _counts(lambda: ops.carafe(features, masks, k, g, s).sum().backward())
    assert counts[CARAFE_BACKWARD] == 2 * _reassembly_flops(2, 3, 4, 5, k, s)


def _conv_flops_as_torch_counts(x, conv) -> int:
    """What FlopCounterMode counts for a bare F.conv2d with the conv's weights on x."""
    weight = conv.weight.detach()
    counts = _counts(lambda: F.conv2d(x, weight, padding=conv.padding, dilation=conv.dilation))
    return sum(counts.values())


@pytest.mark.parametrize("k, g, s, k_enc", [(5, 1, 2, 3), (3, 2, 3, 1), (7, 4, 2, 5)])
def test_carafe_pack_counts_convs_plus_reassembly(k, g, s, k_enc):
    n, c, c_m, h, w = 2, 16, 8, 7, 6
    torch.manual_seed(0)
    pack = CARAFEPack(c, s, up_kernel=k, up_group=g, encoder_kernel=k_enc, compressed_channels=c_m)
    x = torch.randn(n, c, h, w)
    counts = _counts(lambda: pack(x))
    # torch's own conv counts: 2*C_in*C_out*k_enc^2 per output pixel of each conv
    compressor = 2 * c * c_m * 1 * n * h * w
    encoder = 2 * c_m * (k * k * g * s * s) * k_enc * k_enc * n * h * w
    assert _conv_flops_as_torch_counts(x, pack.channel_compressor) == compressor
    compressed = torch.randn(n, c_m, h, w)
    assert _conv_flops_as_torch_counts(compressed, pack.content_encoder) == encoder
    reassembly = counts[CARAFE]
    assert reassembly == _reassembly_flops(n, c, h, w, k, s)
    assert sum(counts.values()) == compressor + encoder + reassembly
    # The registry's paper-rule cost per input pixel: its reassembly term s^2*C*2*k^2 is the
    # counter's CARAFE entry per input pixel. (Its conv and softmax terms follow other rules,
    # (2*k*k*C_in - 1)*C_out per pixel and 5T - 2 per softmax: taken off, not compared.)
    cfg = dict(up_kernel=k, up_group=g, encoder_kernel=k_enc, compressed_channels=c_m)
    cost = upsampler_cost("carafe", c, s, **cfg)["flops_per_input_pixel"]
    paper_convs = (2 * c - 1) * c_m + (2 * c_m * k_enc * k_enc - 1) * k * k * g * s * s
    paper_softmax = s * s * g * (5 * k * k - 2)
    assert cost - paper_convs - paper_softmax == reassembly // (n * h * w)


def test_shipped_model_counts_carafe(monkeypatch):
    import carafe.nn.carafe_pack as carafe_pack
    from carafe.models import load_pretrained

    model = load_pretrained("carafe").eval()
    calls = []  # (kernel_size, output shape) of every CARAFE call, seen from the outside

    def spy(features, masks, kernel_size, group_size, scale_factor):
        out = ops.carafe(features, masks, kernel_size, group_size, scale_factor)
        calls.append((kernel_size, out.shape))
        return out

    # The FPN calls CARAFEPack.forward_with_intermediates, not the module, so no forward hook
    # fires; the op call itself is where to look.
    monkeypatch.setattr(carafe_pack, "carafe", spy)
    x = torch.rand(1, 3, 128, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    flops = counter.get_flop_counts()
    assert len(calls) == sum(isinstance(m, CARAFEPack) for m in model.modules()) > 0
    expected = sum(2 * k * k * n * c * h * w for k, (n, c, h, w) in calls)
    assert flops["Global"][CARAFE] == expected > 0
    assert flops[type(model).__name__][CARAFE] == expected
    assert counter.get_total_flops() > expected  # the backbone's convs are counted too


REFERENCE_SCRIPT = """
import torch
from torch.utils.flop_counter import FlopCounterMode
import carafe.ops as ops
from tests.conftest import random_inputs
assert ops.backend().startswith("reference"), ops.backend()
f, m = random_inputs(2, 4, 3, 5, 3, 2, 2, dtype=torch.float32)
f.requires_grad_()
with FlopCounterMode(display=False) as counter:
    ops.carafe(f, m, 3, 2, 2).sum().backward()
counts = counter.get_flop_counts()["Global"]
print(sorted((str(op), n) for op, n in counts.items()))
"""


def test_counts_under_the_reference_fallback(tmp_path):
    env = {**os.environ, "CARAFE_FORCE_REFERENCE": "1", "CARAFE_BUILD_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", REFERENCE_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    forward = _reassembly_flops(2, 4, 3, 5, 3, 2)
    # the same formulas as the C++ op: one count per call, the reference's insides not added
    expected = [("carafe.carafe", forward), ("carafe.carafe_backward", 2 * forward)]
    assert result.stdout.strip() == repr(expected)
