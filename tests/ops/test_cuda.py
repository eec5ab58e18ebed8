"""CUDA kernels against the reference. Skipped (never faked) without a GPU."""

import pytest
import torch

import carafe.ops as ops
from carafe.ops.reference import carafe_reference
from tests.conftest import random_inputs

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]

SHAPES = [
    (2, 6, 7, 5, 3, 2, 2),
    (1, 64, 16, 12, 5, 1, 2),
    (1, 12, 5, 9, 7, 4, 3),
    (2, 8, 3, 3, 1, 1, 4),
]


def test_backend_uses_cuda_kernels():
    assert ops.backend() == "cuda+cpp", ops.backend()


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_cuda_matches_reference(shape, dtype):
    n, c, h, w, k, g, s = shape
    f64, m64 = random_inputs(n, c, h, w, k, g, s, device="cuda")
    exact = carafe_reference(f64, m64, k, g, s)
    f, m = f64.to(dtype).requires_grad_(), m64.to(dtype).requires_grad_()
    out = ops.carafe(f, m, k, g, s)
    grad_output = torch.randn_like(exact)
    out.backward(grad_output.to(dtype))
    f_exact, m_exact = f64.clone().requires_grad_(), m64.clone().requires_grad_()
    carafe_reference(f_exact, m_exact, k, g, s).backward(grad_output)

    if dtype == torch.float64:
        torch.testing.assert_close(out, exact)
        torch.testing.assert_close(f.grad, f_exact.grad)
        torch.testing.assert_close(m.grad, m_exact.grad)
        return
    # Our error must stay within twice the error of PyTorch's own ops in this dtype (the
    # reference evaluated in `dtype`), plus one rounding step of the result.
    f_t, m_t = f64.to(dtype).requires_grad_(), m64.to(dtype).requires_grad_()
    torch_out = carafe_reference(f_t, m_t, k, g, s)
    torch_out.backward(grad_output.to(dtype))
    eps = torch.finfo(dtype).eps
    for ours, theirs, truth in (
        (out, torch_out, exact),
        (f.grad, f_t.grad, f_exact.grad),
        (m.grad, m_t.grad, m_exact.grad),
    ):
        our_err = (ours.double() - truth).abs().max().item()
        torch_err = (theirs.double() - truth).abs().max().item()
        assert our_err <= 2 * torch_err + eps * truth.abs().max().item(), (our_err, torch_err)


def test_non_contiguous_and_current_stream():
    f, m = random_inputs(2, 8, 6, 6, 3, 2, 2, dtype=torch.float32, device="cuda")
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        out = ops.carafe(
            f.to(memory_format=torch.channels_last),
            m.transpose(2, 3).contiguous().transpose(2, 3),
            3,
            2,
            2,
        )
    stream.synchronize()
    torch.testing.assert_close(out, carafe_reference(f, m, 3, 2, 2))


def test_cuda_speed_is_recorded(record_property, request):
    f, m = random_inputs(1, 256, 64, 64, 5, 1, 2, dtype=torch.float32, device="cuda")
    for fn, name in ((ops.carafe, "op"), (carafe_reference, "reference")):
        fn(f, m, 5, 1, 2)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(20):
            fn(f, m, 5, 1, 2)
        end.record()
        torch.cuda.synchronize()
        record_property(f"{name}_forward_ms", start.elapsed_time(end) / 20)
    recorded = dict(request.node.user_properties)
    assert set(recorded) == {"op_forward_ms", "reference_forward_ms"}
    assert all(0 < ms < 1e4 for ms in recorded.values()), recorded
    # the kernel reads each input once; the reference materialises k*k windows
    assert recorded["op_forward_ms"] < recorded["reference_forward_ms"], recorded
