"""The registry tells the truth: a learned kernel upsampler registered at run time, written in
this test and nowhere else, is trained, analysed, evaluated and shown on every page like the
kinds that ship, with no other file changed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from carafe.nn import UPSAMPLERS, UpsamplerKind, register_upsampler
from carafe.ops import carafe
from tests.app.conftest import assert_clean, figures_by_title, open_app, serve_checkpoint

KIND = "toy_kernels"
NAME = "Toy kernels"


@dataclass
class _Parts:
    kernel_logits: torch.Tensor
    kernels: torch.Tensor
    output: torch.Tensor


class ToyKernels(nn.Module):
    """A learned kernel upsampler of the simplest kind: a 1×1 conv predicts the k×k logits of
    every output sub-pixel, then the CARAFE op reassembles."""

    def __init__(self, channels: int, scale_factor: int = 2, up_kernel: int = 5) -> None:
        super().__init__()
        self.scale_factor, self.up_kernel, self.up_group = scale_factor, up_kernel, 1
        self.logits = nn.Conv2d(channels, up_kernel**2 * scale_factor**2, 1)

    def forward_with_intermediates(self, x: torch.Tensor) -> _Parts:
        logits = F.pixel_shuffle(self.logits(x), self.scale_factor)
        kernels = logits.softmax(1)
        return _Parts(logits, kernels, carafe(x, kernels, self.up_kernel, 1, self.scale_factor))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_intermediates(x).output


@pytest.fixture
def toy_kind():
    register_upsampler(
        UpsamplerKind(
            KIND,
            NAME,
            lambda c, s=2, **cfg: ToyKernels(c, s, **cfg),
            lambda m, c, s: 2 * c * m.logits.out_channels,
            family="kernels",
            colour="#123456",
            has_intermediates=True,
            measures=frozenset({"alignment", "border", "tiny"}),
            knob_options=lambda knobs: dict(up_kernel=knobs["up_kernel"]),
        )
    )
    yield KIND
    del UPSAMPLERS[KIND]


@pytest.fixture
def toy_model(toy_kind):
    from carafe.models import build_model, default_config
    from carafe.training.data import CLASS_NAMES

    torch.manual_seed(0)
    model = build_model(default_config(toy_kind, len(CLASS_NAMES), list(CLASS_NAMES))).eval()
    for m in model.neck.upsample_modules:  # kernels that differ from pixel to pixel
        nn.init.normal_(m.logits.weight, std=0.5)
    return model


def test_analysis_evaluation_and_tiny_training_accept_it(toy_model, toy_kind):
    from carafe.inspect.analysis import analyze
    from carafe.training.alignment import kernel_alignment
    from carafe.training.border import ring_statistics
    from carafe.training.data import load_split
    from carafe.training.evaluate import evaluate_model
    from carafe.training.train_tiny import TinyConfig, tiny_kinds, train_tiny

    image = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    step = analyze(toy_model, image).steps[-1]
    assert step.kind == toy_kind and step.details.kind == toy_kind
    assert step.details.kernels.shape == (25, *step.output_shape)
    data = load_split("heldout", 4, 64)
    scores = evaluate_model(toy_model, data.images, data.labels)
    assert 0 <= scores["miou"] <= 100
    own = kernel_alignment(toy_model, data.images, data.labels)["own_object_share"]
    assert list(own)[:2] == [toy_kind, f"{toy_kind}_moved"]
    assert len(ring_statistics(toy_model, data.images)) == 3
    assert toy_kind in tiny_kinds()
    run = train_tiny(TinyConfig(steps=3, eval_every=3), kinds=("bilinear", toy_kind))
    assert np.isfinite(run.final_heldout(toy_kind))


PAGES = ["network", "learning", "compressed", "compare", "how_it_works", "train_tiny",
         "performance", "sandbox"]  # fmt: skip


def test_every_page_renders_it(monkeypatch, toy_model):
    serve_checkpoint(monkeypatch, KIND, toy_model)
    at = open_app()
    at.session_state["checkpoint"] = KIND
    at.run()
    assert_clean(at)
    assert at.title[0].value == f"Explore: what does {NAME} predict?"
    for page in PAGES:
        at.switch_page(f"app_pages/{page}.py").run()
        assert_clean(at)


def test_pages_show_it_beside_carafe(monkeypatch, toy_model):
    serve_checkpoint(monkeypatch, KIND, toy_model)
    at = open_app()
    at.run()
    assert_clean(at)
    titles = figures_by_title(at)
    assert any(t.startswith(f"{NAME} at (") for t in titles), list(titles)  # the family tab
    assert any(NAME in m.value and "kernel is" in m.value for m in at.markdown)
    at.switch_page("app_pages/compare.py").run()
    assert NAME in at.selectbox(key="compare_peer").options
    at.selectbox(key="compare_peer").set_value(KIND).run()
    assert_clean(at)
    at.switch_page("app_pages/performance.py").run()
    assert_clean(at)
    assert any(NAME in str(d.value.to_dict()) for d in at.dataframe)
