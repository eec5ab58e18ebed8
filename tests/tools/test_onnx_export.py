"""ONNX export of CARAFE models: standard operators only, onnxruntime agrees with PyTorch."""

import numpy as np
import pytest
import torch

from carafe.nn import CARAFEPack
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
    operators = _assert_standard_and_close(model, x, tmp_path / "pack.onnx")
    assert ("", "Conv") in operators and ("", "ReduceSum") in operators


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
