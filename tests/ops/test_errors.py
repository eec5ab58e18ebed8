"""Bad arguments give a clear error naming the argument, both through carafe.ops.carafe and
through the registered op itself (whose C++ checks raise the same exception types)."""

import re

import pytest
import torch

import carafe.ops as ops
from carafe.ops.reference import carafe_reference
from tests.conftest import random_inputs


def good():
    features, masks = random_inputs(2, 8, 4, 5, 3, 2, 2, dtype=torch.float32)
    return {
        "features": features,
        "masks": masks,
        "kernel_size": 3,
        "group_size": 2,
        "scale_factor": 2,
    }


def bad_cases():
    f, m = good()["features"], good()["masks"]
    yield "features 3-D", {"features": f[0]}, ValueError, "features must be 4-D"
    yield "masks 3-D", {"masks": m[0]}, ValueError, "masks must be 4-D"
    yield (
        "mask channels",
        {"masks": m[:, :9]},
        ValueError,
        "masks must have group_size*kernel_size**2 = 18 channels (group_size=2, kernel_size=3), got 9",
    )
    yield "mask size", {"masks": m[..., :7, :]}, ValueError, "masks spatial size must be"
    yield (
        "mask batch",
        {"masks": m[:1]},
        ValueError,
        "masks batch size (1) != features batch size (2)",
    )
    yield (
        "even kernel",
        {"kernel_size": 4},
        ValueError,
        "kernel_size must be a positive odd integer, got 4",
    )
    yield (
        "zero kernel",
        {"kernel_size": 0},
        ValueError,
        "kernel_size must be a positive odd integer, got 0",
    )
    yield "negative kernel", {"kernel_size": -3}, ValueError, "kernel_size must be a positive odd"
    yield (
        "groups",
        {"group_size": 3, "masks": torch.rand(2, 27, 8, 10)},
        ValueError,
        "features channels (8) must be divisible by group_size (3)",
    )
    yield "zero groups", {"group_size": 0}, ValueError, "group_size must be >= 1, got 0"
    yield "scale", {"scale_factor": 0}, ValueError, "scale_factor must be >= 1, got 0"
    yield "dtype mismatch", {"masks": m.double()}, TypeError, "does not match features dtype"
    yield (
        "integer dtype",
        {"features": f.to(torch.int32), "masks": m.to(torch.int32)},
        TypeError,
        "features must be a floating-point tensor, got dtype torch.int32",
    )
    yield "float kernel_size", {"kernel_size": 3.0}, TypeError, "kernel_size must be an int"
    yield "not a tensor", {"features": f.numpy()}, TypeError, "features must be a torch.Tensor"
    yield (
        "device mismatch",
        {"masks": m.to("meta")},
        ValueError,
        "masks are on meta but features are on cpu",
    )


@pytest.mark.parametrize("fn", [ops.carafe, carafe_reference], ids=["op", "reference"])
@pytest.mark.parametrize(
    "name,override,exc,message", list(bad_cases()), ids=[c[0] for c in bad_cases()]
)
def test_bad_argument_message(fn, name, override, exc, message):
    args = {**good(), **override}
    with pytest.raises(exc, match=re.escape(message)):
        fn(**args)


@pytest.mark.skipif(not ops.backend().startswith(("cpp", "cuda")), reason="C++ checks only")
@pytest.mark.parametrize(
    "name,override,exc,message",
    [
        c
        for c in bad_cases()
        if c[0] not in {"float kernel_size", "not a tensor", "device mismatch"}
    ],
    ids=lambda c: c if isinstance(c, str) else "",
)
def test_registered_op_checks_its_arguments(name, override, exc, message):
    args = {**good(), **override}
    # the C++ messages use the same wording; sizes and dtypes are printed in C++ style
    prefix = message.split(" = ")[0].split(", got dtype")[0]
    with pytest.raises(exc, match=re.escape(prefix)):
        torch.ops.carafe.carafe(*args.values())


def test_backward_rejects_wrong_grad_output_shape():
    if not ops.backend().startswith(("cpp", "cuda")):
        pytest.skip("C++ checks only")
    args = good()
    with pytest.raises(ValueError, match="grad_output must have the output's shape"):
        torch.ops.carafe.carafe_backward(torch.rand(2, 8, 3, 3), *args.values())


def _fake(mode, value):
    return mode.from_tensor(value) if isinstance(value, torch.Tensor) else value


@pytest.mark.parametrize(
    "name,override,exc,message",
    [c for c in bad_cases() if c[0] not in {"float kernel_size", "not a tensor"}],
    ids=lambda c: c if isinstance(c, str) else "",
)
def test_fake_tensors_reject_what_eager_rejects(name, override, exc, message):
    # The fake implementation (what torch.compile and torch.export trace) checks shapes with
    # torch._check*, with the eager wording. ("float kernel_size" and "not a tensor" are
    # refused by the op's schema before any implementation runs.)
    from torch._subclasses.fake_tensor import FakeTensorMode

    mode = FakeTensorMode()
    args = {key: _fake(mode, value) for key, value in {**good(), **override}.items()}
    with mode, pytest.raises(exc, match=re.escape(message)):
        torch.ops.carafe.carafe(*args.values())


def test_fake_tensors_give_the_output_shape_for_good_arguments():
    from torch._subclasses.fake_tensor import FakeTensorMode

    mode = FakeTensorMode()
    args = {key: _fake(mode, value) for key, value in good().items()}
    with mode:
        out = torch.ops.carafe.carafe(*args.values())
        grad_f, grad_m = torch.ops.carafe.carafe_backward(torch.empty(2, 8, 8, 10), *args.values())
    assert out.shape == (2, 8, 8, 10) and out.dtype == torch.float32
    assert grad_f.shape == (2, 8, 4, 5) and grad_m.shape == (2, 18, 8, 10)


def test_fake_backward_rejects_wrong_grad_output_shape():
    from torch._subclasses.fake_tensor import FakeTensorMode

    mode = FakeTensorMode()
    args = {key: _fake(mode, value) for key, value in good().items()}
    with (
        mode,
        pytest.raises(
            ValueError,
            match=re.escape(
                "grad_output must have the output's shape (2, 8, 8, 10), got (2, 8, 3, 3)"
            ),
        ),
    ):
        torch.ops.carafe.carafe_backward(torch.empty(2, 8, 3, 3), *args.values())


def test_torch_export_rejects_a_wrong_mask_shape():
    # The example: masks (1, 7, 3, 3) for features (1, 4, 4, 4), k = 3, s = 2. Export
    # traces with fake tensors only, so before the fake checked shapes it produced a graph.
    class Upsample(torch.nn.Module):
        def forward(self, f, m):
            return torch.ops.carafe.carafe(f, m, 3, 1, 2)

    with pytest.raises(
        ValueError, match=re.escape("masks must have group_size*kernel_size**2 = 9")
    ):
        torch.export.export(Upsample(), (torch.randn(1, 4, 4, 4), torch.randn(1, 7, 3, 3)))
