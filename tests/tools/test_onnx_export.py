"""ONNX export of CARAFE models: standard operators only, onnxruntime agrees with PyTorch."""

import math

import numpy as np
import pytest
import torch

import carafe.ops as ops
from carafe.nn import CARAFEPack
from carafe.ops.reference import carafe_for_export, carafe_reference
from carafe.tools.onnx_export import (
    export_onnx,
    graph_operators,
    onnxruntime_session,
    run_onnxruntime,
)

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


def _assert_standard_and_close(model, x, path):
    export_onnx(model, x, path)
    operators = graph_operators(path)
    # every node in the default ONNX domain: no custom op, no library needed to run it
    assert {domain for domain, _ in operators} == {""}, operators
    assert not any("carafe" in op.lower() for _, op in operators), operators
    with torch.no_grad():
        expected = model(x).numpy()
    got = run_onnxruntime(onnxruntime_session(path), x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    return operators


def test_carafe_pack_exports_to_standard_onnx(tmp_path):
    torch.manual_seed(0)
    model = CARAFEPack(16, 2, up_kernel=5, up_group=2, compressed_channels=8).eval()
    for p in model.content_encoder.parameters():  # kernels that differ from pixel to pixel
        torch.nn.init.normal_(p, std=0.3)
    x = torch.randn(1, 16, 11, 14)
    path = tmp_path / "pack.onnx"
    operators = _assert_standard_and_close(model, x, path)
    assert ("", "MatMul") in operators
    import onnx

    graph = onnx.shape_inference.infer_shapes(onnx.load(str(path))).graph
    # the compressor and the encoder are the only convolutions: no window-copying Conv
    assert sum(node.op_type == "Conv" for node in graph.node) == 2
    # No tensor as big as k*k copies of the features (the unfolded windows, even at input
    # resolution): the largest intermediates are the masks and the output.
    k, (n, c, h, w) = model.up_kernel, x.shape
    for value in graph.value_info:
        numel = math.prod(d.dim_value for d in value.type.tensor_type.shape.dim)
        assert numel < k * k * n * c * h * w, (value.name, numel)


def test_shipped_segmentation_model_exports_to_standard_onnx(tmp_path):
    from carafe.models import load_pretrained

    model = load_pretrained("carafe").eval()
    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    _assert_standard_and_close(model, x, tmp_path / "seg.onnx")


def test_eager_calls_still_use_the_registered_op(monkeypatch):
    # The decomposition is for export only: outside it, carafe.ops.carafe runs the op itself.
    import carafe.ops.op as ops

    calls = []
    monkeypatch.setattr(ops, "carafe_for_export", lambda *a: calls.append(a))
    x = torch.randn(1, 4, 3, 3)
    m = torch.randn(1, 9, 6, 6).softmax(1)
    assert ops.carafe(x, m, 3, 1, 2).shape == (1, 4, 6, 6) and calls == []


EXPORT_SHAPES = [  # (k, G, s) over k 1/3/5/7, G 1/2/4, s 1..4
    (k, g, s) for k in (1, 3, 5, 7) for g in (1, 2, 4) for s in (1, 2, 3, 4)
]


@pytest.mark.parametrize("k, g, s", EXPORT_SHAPES)
def test_export_form_equals_the_op(k, g, s):
    gen = torch.Generator().manual_seed(k * 100 + g * 10 + s)
    features = torch.randn(2, 3 * g, 5, 7, generator=gen)  # odd sizes, smaller than k = 7
    masks = torch.randn(2, g, k * k, 5 * s, 7 * s, generator=gen).softmax(2).flatten(1, 2)
    want = torch.ops.carafe.carafe(features, masks, k, g, s)
    got = carafe_for_export(features, masks, k, g, s)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
    raw = torch.randn(masks.shape, generator=gen)  # unnormalised weights too
    torch.testing.assert_close(
        carafe_for_export(features, raw, k, g, s),
        carafe_reference(features, raw, k, g, s),
        rtol=0,
        atol=1e-4,
    )


class _FixedMasks(torch.nn.Module):
    """The op alone, on fixed random masks: export sees carafe.ops.carafe and nothing else."""

    def __init__(self, masks, k, g, s):
        super().__init__()
        self.register_buffer("masks", masks)
        self.geometry = (k, g, s)

    def forward(self, x):
        return ops.carafe(x, self.masks, *self.geometry)


@pytest.mark.parametrize("k, g, s", [(1, 1, 1), (3, 2, 2), (5, 4, 3), (7, 1, 4), (7, 2, 1)])
def test_exported_op_runs_in_onnxruntime(tmp_path, k, g, s):
    gen = torch.Generator().manual_seed(k + g + s)
    x = torch.randn(1, 4 * g, 5, 3, generator=gen)
    masks = torch.randn(1, g, k * k, 5 * s, 3 * s, generator=gen).softmax(2).flatten(1, 2)
    _assert_standard_and_close(_FixedMasks(masks, k, g, s), x, tmp_path / "op.onnx")


@pytest.mark.parametrize("kind", ["fade", "sapa"])
def test_guided_segmentation_models_export_to_standard_onnx(kind, tmp_path):
    """The trained FADE / SAPA model when shipped (else a fresh one): standard operators only
    (the similarity and the reassembly switch to their export forms), onnxruntime within 1e-4."""
    from carafe.models import build_model, default_config, list_pretrained, load_pretrained

    torch.manual_seed(0)
    if kind in list_pretrained():
        model = load_pretrained(kind).eval()
    else:
        model = build_model(default_config(kind)).eval()
    x = torch.rand(1, 3, 96, 128)
    _assert_standard_and_close(model, x, tmp_path / f"{kind}.onnx")
