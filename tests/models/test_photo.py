"""Photo models: the FPN trained without labels (two-resolution objective), their loss, the
training loop and the shipped checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from carafe.models import (
    PhotoModel,
    default_config,
    list_pretrained,
    load_checkpoint,
    load_pretrained,
    photo_config,
    save_checkpoint,
)
from carafe.models.photo import reconstruction_loss
from carafe.nn import UPSAMPLERS
from carafe.training import data as data_module
from carafe.training.photo_train import main as photo_main
from carafe.training.photo_train import photo_batch

PHOTO_KINDS = [k for k in UPSAMPLERS if f"{k}_photo" in list_pretrained()]


def _model(kind: str = "carafe", channels: int = 8) -> PhotoModel:
    torch.manual_seed(0)
    return PhotoModel(photo_config(default_config(kind, 5, None, channels)))


def test_photo_config_drops_the_classes_and_keeps_the_network():
    scene = default_config("fade", 5, list("abcde"), 16)
    config = photo_config(scene)
    assert config["task"] == "photo" and config["num_classes"] == 0 and config["class_names"] == []
    assert config["upsampler"] == scene["upsampler"] and config["fpn_channels"] == 16
    with pytest.raises(ValueError, match="task='photo'"):
        PhotoModel(scene)


def test_photo_model_has_frozen_backbone_adaptors_per_step_and_no_logits():
    model = _model()
    assert model.head is None and len(model.neck.fpn_convs) == 0
    assert all(not p.requires_grad for p in model.backbone.parameters())
    channels = model.backbone.out_channels
    assert [a.out_channels for a in model.adaptors] == list(channels[1:])
    model.train()
    assert not model.backbone.training and model.neck.training
    out = model.forward_with_intermediates(torch.rand(1, 3, 96, 160))
    assert out.logits is None
    assert [s.stride_out for s in out.steps] == [16, 8, 4]
    assert out.steps[-1].details.kernels.shape[1] == 25  # CARAFE's 5x5 kernels, as in scenes
    assert model(torch.rand(1, 3, 96, 160)).shape == (1, channels[1], 24, 40)


def test_reconstruction_loss_is_the_half_photo_steps_against_the_full_photo_maps():
    model = _model("fade").eval()
    full = torch.rand(2, 3, 128, 192)
    loss, per_step = reconstruction_loss(model, full)
    # by hand: the FPN on the 2x2-averaged photo; each step's adapted output against the full
    # photo's backbone map at the step's source level, each channel standardised over the batch
    # (its spread floored at 1e-3: a random backbone's deep maps barely vary)
    steps = model.forward_with_intermediates(F.avg_pool2d(full, 2)).steps
    targets = model.backbone(model._prepare(full))
    by_hand = []
    for step in steps:
        t = targets[step.source_level]
        t = (t - t.mean((0, 2, 3), keepdim=True)) / t.std((0, 2, 3), keepdim=True).clamp_min(1e-3)
        pred = model.adaptors[step.index](step.output)
        assert pred.shape == t.shape
        by_hand.append(float(((pred - t) ** 2).mean().detach()))
    assert per_step == pytest.approx(by_hand, rel=1e-4)
    assert float(loss) == pytest.approx(np.mean(by_hand), rel=1e-4)


def test_reconstruction_loss_trains_the_fpn_not_the_backbone():
    model = _model().train()
    loss, _ = reconstruction_loss(model, torch.rand(2, 3, 128, 128))
    loss.backward()
    assert model.neck.upsample_modules[2].content_encoder.weight.grad.abs().sum() > 0
    assert model.adaptors[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.backbone.parameters())


def test_reconstruction_loss_says_which_sizes_it_needs():
    with pytest.raises(ValueError, match="multiples of 64"):
        reconstruction_loss(_model(), torch.rand(1, 3, 96, 128))


def test_photo_batches_come_from_seed_and_step_and_only_the_training_photos(monkeypatch):
    seen = []
    real = data_module.photo_textures

    def recording(split):
        seen.append(split)
        return real(split)

    monkeypatch.setattr("carafe.training.photo_train.photo_textures", recording)
    a = photo_batch(3, 7, 4, [128, 192])
    assert a.shape[0] == 4 and a.shape[2] == a.shape[3] and a.shape[2] in (128, 192)
    assert torch.equal(a, photo_batch(3, 7, 4, [128, 192]))
    assert not torch.equal(a, photo_batch(3, 8, 4, [a.shape[2]]))
    assert 0.0 <= float(a.min()) and float(a.max()) <= 1.0 and float(a.std()) > 0.01
    assert set(seen) == {"train"}


def test_photo_training_saves_resumes_and_loads_strictly(tmp_path):
    out = tmp_path / "run"
    args = ["--upsampler", "sapa", "--out", str(out), "--crop-sizes", "128", "--batch-size", "2"]
    args += ["--fpn-channels", "8", "--warmup", "1", "--checkpoint-every", "1", "--no-pretrained"]
    photo_main([*args, "--steps", "2"])
    before = load_checkpoint(out / "model.safetensors")
    assert isinstance(before, PhotoModel) and before.neck.upsample_kind == "sapa"
    photo_main([*args, "--steps", "3", "--resume"])
    info = json.loads((out / "model.json").read_text())["training"]
    assert info["resumed_from"] == 2 and info["steps"] == 3 and not info["pretrained_backbone"]
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == [0, 1, 2] and all(row["loss"] > 0 for row in log)


def test_a_photo_model_round_trips_through_a_checkpoint(tmp_path):
    model = _model("dysample")
    path = save_checkpoint(model, tmp_path / "m.safetensors")
    loaded = load_checkpoint(path)
    assert isinstance(loaded, PhotoModel)
    x = torch.rand(1, 3, 64, 64)
    assert torch.allclose(loaded(x), model.eval()(x))


@pytest.mark.parametrize("kind", PHOTO_KINDS)
def test_shipped_photo_models_load_by_name_and_expose_their_steps(kind):
    model = load_pretrained(f"{kind}_photo")
    assert isinstance(model, PhotoModel) and model.neck.upsample_kind == kind
    assert model.config["training"]["objective"].startswith("two-resolution")
    out = model.forward_with_intermediates(torch.rand(1, 3, 200, 136))
    assert out.logits is None and len(out.steps) == 3
    entry = UPSAMPLERS[kind]
    if entry.family == "kernels":
        kernels = out.steps[-1].details.kernels
        assert torch.allclose(kernels.sum(1), torch.ones(()), atol=1e-4)


def test_every_learned_kind_ships_a_photo_model():
    learned = [k for k, e in UPSAMPLERS.items() if e.family != "fixed" and k in list_pretrained()]
    assert learned and set(learned) <= set(PHOTO_KINDS)
    assert "bilinear" in PHOTO_KINDS  # the control
