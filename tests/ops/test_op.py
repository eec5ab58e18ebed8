"""The compiled CARAFE op against the reference: values, gradients, registration, layouts."""

import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import carafe.ops as ops
from carafe.ops.reference import carafe_reference
from tests.conftest import random_inputs

needs_cpp = pytest.mark.skipif(
    not ops.backend().startswith(("cpp", "cuda")),
    reason=f"C++ extension not built: {ops.backend()}",
)

SHAPES = [  # n, c, h, w, k, g, s
    (1, 4, 5, 5, 1, 1, 1),
    (2, 6, 7, 5, 3, 2, 2),
    (1, 8, 4, 9, 5, 4, 3),
    (3, 3, 3, 3, 7, 1, 4),
    (1, 256, 6, 7, 5, 1, 2),  # full register blocks plus tails
    (2, 72, 5, 3, 3, 2, 2),  # 36 channels per group: block + half block + tail
    (1, 20, 1, 1, 5, 4, 2),  # a 1x1 map: every tap but the centre is padding
    (1, 5, 9, 2, 7, 5, 1),
]


def reference_grads(features, masks, k, g, s, grad_output):
    f = features.clone().requires_grad_()
    m = masks.clone().requires_grad_()
    carafe_reference(f, m, k, g, s).backward(grad_output)
    return f.grad, m.grad


@needs_cpp
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "n{}c{}h{}w{}k{}g{}s{}".format(*s))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_forward_and_backward_match_reference(shape, dtype):
    n, c, h, w, k, g, s = shape
    features, masks = random_inputs(n, c, h, w, k, g, s, dtype=dtype, normalised=False)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {}
    expected = carafe_reference(features, masks, k, g, s)
    torch.testing.assert_close(torch.ops.carafe.carafe(features, masks, k, g, s), expected, **tol)

    grad_output = torch.randn_like(expected)
    grad_f, grad_m = torch.ops.carafe.carafe_backward(grad_output, features, masks, k, g, s)
    exp_f, exp_m = reference_grads(features, masks, k, g, s, grad_output)
    torch.testing.assert_close(grad_f, exp_f, **tol)
    torch.testing.assert_close(grad_m, exp_m, **tol)


@pytest.mark.parametrize("shape", SHAPES[:4], ids=str)
def test_cuda_index_maths_match_reference_on_cpu(shape, index_ops):
    # index_forward/index_backward run the __host__ __device__ element functions that the CUDA
    # kernels run, so this checks the CUDA logic without a GPU.
    n, c, h, w, k, g, s = shape
    features, masks = random_inputs(n, c, h, w, k, g, s, normalised=False)
    expected = carafe_reference(features, masks, k, g, s)
    torch.testing.assert_close(index_ops.index_forward(features, masks, k, g, s), expected)
    grad_output = torch.randn_like(expected)
    grad_f, grad_m = index_ops.index_backward(grad_output, features, masks, k, g, s)
    exp_f, exp_m = reference_grads(features, masks, k, g, s, grad_output)
    torch.testing.assert_close(grad_f, exp_f)
    torch.testing.assert_close(grad_m, exp_m)


@needs_cpp
@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2),
    groups=st.integers(1, 3),
    cpg=st.integers(1, 40),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    k=st.sampled_from([1, 3, 5, 7]),
    s=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_property_matches_reference(n, groups, cpg, h, w, k, s, seed):
    features, masks = random_inputs(n, groups * cpg, h, w, k, groups, s, seed=seed)
    torch.testing.assert_close(
        ops.carafe(features, masks, k, groups, s), carafe_reference(features, masks, k, groups, s)
    )


def test_partition_of_unity_kernels_preserve_constant_maps():
    # Softmax kernels sum to one, so away from the zero padding a constant map stays constant.
    _, masks = random_inputs(1, 1, 8, 8, 3, 1, 2, dtype=torch.float32)
    features = torch.full((1, 4, 8, 8), 2.5)
    out = ops.carafe(features, masks, 3, 1, 2)
    torch.testing.assert_close(out[..., 2:-2, 2:-2], torch.full_like(out[..., 2:-2, 2:-2], 2.5))


@needs_cpp
def test_gradcheck_float64_cpp_path():
    features, masks = random_inputs(2, 4, 4, 3, 3, 2, 2)
    features.requires_grad_()
    masks.requires_grad_()
    assert torch.autograd.gradcheck(lambda f, m: ops.carafe(f, m, 3, 2, 2), (features, masks))


def test_autograd_through_public_function_matches_reference():
    features, masks = random_inputs(1, 6, 5, 4, 5, 3, 3)
    f1, m1 = features.clone().requires_grad_(), masks.clone().requires_grad_()
    out = ops.carafe(f1, m1, 5, 3, 3)
    grad_output = torch.randn_like(out)
    out.backward(grad_output)
    exp_f, exp_m = reference_grads(features, masks, 5, 3, 3, grad_output)
    torch.testing.assert_close(f1.grad, exp_f)
    torch.testing.assert_close(m1.grad, exp_m)


def test_opcheck():
    features, masks = random_inputs(2, 4, 3, 5, 3, 2, 2, dtype=torch.float32)
    torch.library.opcheck(
        torch.ops.carafe.carafe.default,
        (features.requires_grad_(), masks.requires_grad_(), 3, 2, 2),
    )


def test_torch_compile_fullgraph_has_no_graph_break():
    class Upsample(torch.nn.Module):
        def forward(self, x, m):
            return ops.carafe(x * 2.0, m.softmax(1), 3, 1, 2) + 1.0

    features, masks = random_inputs(1, 4, 5, 6, 3, 1, 2, dtype=torch.float32, normalised=False)
    compiled = torch.compile(Upsample(), fullgraph=True, backend="aot_eager")
    expected = carafe_reference(features * 2.0, masks.softmax(1), 3, 1, 2) + 1.0
    torch.testing.assert_close(compiled(features, masks), expected)


@pytest.mark.parametrize("layout", ["channels_last", "transposed", "sliced"])
def test_non_contiguous_inputs(layout):
    features, masks = random_inputs(2, 8, 6, 6, 3, 2, 2, dtype=torch.float32, normalised=False)
    if layout == "channels_last":
        f_in = features.to(memory_format=torch.channels_last)
        m_in = masks.to(memory_format=torch.channels_last)
    elif layout == "transposed":  # square maps: swap H and W twice to get odd strides
        f_in = features.transpose(2, 3).contiguous().transpose(2, 3)
        m_in = masks.transpose(2, 3).contiguous().transpose(2, 3)
    else:
        f_in = torch.cat([features, features], dim=1)[:, ::2]
        features = f_in.contiguous()
        m_in = masks
    assert not f_in.is_contiguous()
    out = ops.carafe(f_in, m_in, 3, 2, 2)
    torch.testing.assert_close(out, carafe_reference(features, masks, 3, 2, 2))


def test_non_contiguous_grad_output():
    features, masks = random_inputs(1, 4, 4, 4, 3, 1, 2, dtype=torch.float32)
    f, m = features.clone().requires_grad_(), masks.clone().requires_grad_()
    out = ops.carafe(f, m, 3, 1, 2)
    grad_output = torch.randn(1, 8, 8, 4).permute(0, 3, 1, 2)  # channels-last strides
    out.backward(grad_output)
    exp_f, exp_m = reference_grads(features, masks, 3, 1, 2, grad_output.contiguous())
    torch.testing.assert_close(f.grad, exp_f)
    torch.testing.assert_close(m.grad, exp_m)


def test_empty_batch_returns_empty_result():
    features, masks = random_inputs(1, 4, 3, 3, 3, 1, 2, dtype=torch.float32)
    out = ops.carafe(features[:0], masks[:0], 3, 1, 2)
    assert out.shape == (0, 4, 6, 6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_cpu_half_types_compute_in_float32(dtype):
    features, masks = random_inputs(1, 8, 5, 5, 3, 1, 2, dtype=torch.float32)
    out = ops.carafe(features.to(dtype), masks.to(dtype), 3, 1, 2)
    assert out.dtype == dtype
    expected = carafe_reference(features.to(dtype).float(), masks.to(dtype).float(), 3, 1, 2)
    torch.testing.assert_close(out.float(), expected, rtol=1e-2, atol=1e-2)


@pytest.mark.skipif(
    shutil.which(os.environ.get("CXX", "c++")) is None, reason="no C++ compiler on this machine"
)
def test_backend_reports_cpp_where_a_compiler_exists():
    # With a compiler the C++ kernels must be live; without one the fallback is covered by
    # test_ops_build.py (it warns once and says why).
    assert ops.backend() in {"cpp", "cuda+cpp"}, ops.backend()


@needs_cpp
def test_results_do_not_depend_on_threads_or_concurrent_callers():
    # Every output row is written by exactly one chunk, so any thread count (more threads than
    # cores included) and two Python threads calling at once must give bit-identical results.
    features, masks = random_inputs(2, 64, 19, 23, 5, 2, 2, seed=7)
    grad_output = torch.randn(
        2, 64, 38, 46, generator=torch.Generator().manual_seed(8), dtype=torch.float64
    )

    def run():
        f = features.clone().requires_grad_()
        m = masks.clone().requires_grad_()
        out = ops.carafe(f, m, 5, 2, 2)
        out.backward(grad_output)
        return out.detach(), f.grad, m.grad

    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        expected = run()
        for threads in (2, 3, 8):
            torch.set_num_threads(threads)
            assert all(torch.equal(a, b) for a, b in zip(run(), expected, strict=True)), threads
        torch.set_num_threads(2)
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda _: run(), range(6)))
    finally:
        torch.set_num_threads(previous)
    for result in results:
        assert all(torch.equal(a, b) for a, b in zip(result, expected, strict=True))
    reference = carafe_reference(features, masks, 5, 2, 2)
    torch.testing.assert_close(expected[0], reference, rtol=1e-5, atol=1e-5)
