"""ONNX export of models that contain CARAFE: ``carafe-onnx OUT.onnx``.

Plain ``torch.onnx.export(model, (x,), "model.onnx")`` works for any model that calls
``carafe.ops.carafe`` (CARAFEPack, the shipped segmentation model): while exporting, the op
is traced as :func:`carafe.ops.reference.carafe_for_export`, the same sum in standard ONNX
operators (Pad, Transpose, Reshape, Slice, Concat, MatMul, Add: one batched MatMul per window
row, no k*k copies of the map), so the file runs on any ONNX runtime with no custom-op
library. This module adds the checks around it: which operators the graph holds,
onnxruntime's output against PyTorch's, and both runtimes' CPU latency.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from carafe.tools.timing import interleaved_ms

__all__ = ["export_onnx", "graph_operators", "onnxruntime_session", "compare_latency", "main"]


def export_onnx(model: torch.nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """``torch.onnx.export`` of ``model`` (put in eval mode) on ``example``; returns the path."""
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the exporter's own deprecations
        torch.onnx.export(model.eval(), (example,), str(path), verbose=False)
    return path


def graph_operators(path: str | Path) -> set[tuple[str, str]]:
    """(domain, op_type) of every node of the exported graph ("" is the standard domain)."""
    import onnx

    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    return {(node.domain, node.op_type) for node in model.graph.node}


def onnxruntime_session(path: str | Path, threads: int | None = None):
    """An onnxruntime CPU session for the file (``threads``: intra-op threads, default torch's)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnxruntime(session, x: torch.Tensor) -> np.ndarray:
    """The session's first output for the input ``x``."""
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]


def compare_latency(model: torch.nn.Module, size: int = 512, repeats: int = 10) -> dict:
    """Exports ``model`` for a 1x3x``size``x``size`` image and times it in PyTorch (eager, the
    C++ op) and in onnxruntime (CPU, the same thread count), timed alternately. Returns
    torch_ms, onnxruntime_ms (medians), max_abs_diff and threads."""
    model = model.eval()
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    with tempfile.TemporaryDirectory() as tmp:
        session = onnxruntime_session(export_onnx(model, x, Path(tmp) / "model.onnx"))
    runners = {"torch": lambda: model(x), "onnxruntime": lambda: run_onnxruntime(session, x)}
    with torch.no_grad():
        expected = model(x)
        ms = interleaved_ms(runners, dict.fromkeys(runners, repeats), warmup=1)
    diff = float(np.abs(run_onnxruntime(session, x) - expected.numpy()).max())
    return {
        "size": size,
        "threads": torch.get_num_threads(),
        "torch_ms": ms["torch"],
        "onnxruntime_ms": ms["onnxruntime"],
        "max_abs_diff": diff,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="carafe-onnx", description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the .onnx file to write")
    parser.add_argument("--model", default="carafe", help="shipped checkpoint name")
    parser.add_argument("--size", type=int, default=512, help="example image side (pixels)")
    args = parser.parse_args(argv)
    from carafe.models import load_pretrained

    model = load_pretrained(args.model).eval()
    x = torch.rand(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    path = export_onnx(model, x, args.out)
    operators = sorted({op for domain, op in graph_operators(path)})
    with torch.no_grad():
        diff = np.abs(run_onnxruntime(onnxruntime_session(path), x) - model(x).numpy()).max()
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    print(f"ONNX operators: {', '.join(operators)}")
    print(f"onnxruntime vs PyTorch on a {args.size}x{args.size} image: max |diff| = {diff:.2e}")


if __name__ == "__main__":
    main()
