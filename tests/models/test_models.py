"""Backbones (torchvision layouts), the FPN_CARAFE neck, the segmentation model, checkpoints."""

import json

import pytest
import torch

from carafe.models import (
    FPN,
    MobileNetV2,
    ResNet50,
    build_model,
    default_config,
    list_pretrained,
    load_checkpoint,
    load_pretrained,
    save_checkpoint,
)
from carafe.nn import UPSAMPLER_KINDS, CARAFEIntermediates, CARAFEPack
from carafe.nn.interpolation import bilinear_kernel_1d
from carafe.training.train import find_mobilenet_weights


def test_mobilenet_v2_has_torchvision_layout():
    state = MobileNetV2().state_dict()
    # torchvision's mobilenet_v2 has 3,504,872 params; minus features.18 (412,160) and the
    # classifier (1,281,000) leaves the backbone's 1,811,712.
    assert (
        sum(v.numel() for k, v in state.items() if "running" not in k and "num_batches" not in k)
        == 1_811_712
    )
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["features.1.conv.0.0.weight"].shape == (32, 1, 3, 3)
    assert state["features.1.conv.1.weight"].shape == (16, 32, 1, 1)
    assert state["features.2.conv.1.0.weight"].shape == (96, 1, 3, 3)
    assert state["features.17.conv.2.weight"].shape == (320, 960, 1, 1)
    assert not any(k.startswith(("features.18", "classifier")) for k in state)


def test_resnet50_has_torchvision_layout():
    state = ResNet50().state_dict()
    # torchvision's resnet50: 25,557,032 params, of which fc holds 2,049,000.
    assert (
        sum(v.numel() for k, v in state.items() if "running" not in k and "num_batches" not in k)
        == 23_508_032
    )
    assert state["layer1.0.downsample.0.weight"].shape == (256, 64, 1, 1)
    assert state["layer3.5.conv2.weight"].shape == (256, 256, 3, 3)
    assert state["layer4.2.bn3.running_var"].shape == (2048,)


@pytest.mark.skipif(find_mobilenet_weights() is None, reason="ImageNet weights not installed")
def test_mobilenet_v2_loads_torchvision_weights_strictly():
    state = torch.load(find_mobilenet_weights(), weights_only=True)
    model = MobileNetV2()
    model.load_torchvision_state_dict(state)
    torch.testing.assert_close(
        model.features[4].conv[1][0].weight, state["features.4.conv.1.0.weight"]
    )


def test_backbone_keeps_batchnorm_frozen_in_train_mode():
    model = MobileNetV2().train()
    assert model.training
    assert not any(m.training for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_fpn_carafe_key_layout_with_extra_level():
    neck = FPN([256, 512, 1024, 2048], [4, 8, 16, 32], 256, {"kind": "carafe"}, num_outs=5)
    state = neck.state_dict()
    assert state["lateral_convs.0.conv.weight"].shape == (256, 256, 1, 1)
    assert state["lateral_convs.3.conv.weight"].shape == (256, 2048, 1, 1)
    assert state["lateral_convs.4.conv.weight"].shape == (256, 2048, 3, 3)  # extra, stride 2
    assert state["fpn_convs.4.conv.bias"].shape == (256,)
    assert state["upsample_modules.3.content_encoder.weight"].shape == (100, 64, 3, 3)
    assert len(neck.upsample_modules) == 4 and neck.strides == [4, 8, 16, 32, 64]


def test_fpn_rejects_wrong_number_of_inputs():
    neck = FPN([8, 16], [4, 8], 8, {"kind": "nearest"})
    with pytest.raises(ValueError, match="expects 2 input maps, got 1"):
        neck([torch.randn(1, 8, 4, 4)])


@pytest.mark.parametrize("kind", UPSAMPLER_KINDS)
def test_segmentation_model_shape_flow(kind):
    torch.manual_seed(0)
    model = build_model(default_config(kind, fpn_channels=16)).eval()
    images = torch.rand(2, 3, 37, 50)  # not a multiple of 32: padded and cropped back
    with torch.no_grad():
        out = model.forward_with_intermediates(images)
        logits = model(images)
    assert logits.shape == (2, 5, 37, 50)
    torch.testing.assert_close(out.logits, logits)
    assert [lvl.shape[1] for lvl in out.levels] == [24, 32, 96, 320]
    steps = out.steps
    assert [s.index for s in steps] == [2, 1, 0]
    assert [(s.stride_in, s.stride_out) for s in steps] == [(32, 16), (16, 8), (8, 4)]
    assert [(s.source_level, s.target_level) for s in steps] == [(3, 2), (2, 1), (1, 0)]
    for step in steps:
        n, c, h, w = step.input.shape
        assert step.output.shape == (n, c, 2 * h, 2 * w) and step.kind == kind
        assert isinstance(step.details, CARAFEIntermediates) == (kind == "carafe")
        if kind == "carafe":
            assert torch.equal(step.details.output, step.output)


def _backbone_input(model, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's logits on ``images`` and the tensor its backbone received."""
    seen = []
    hook = model.backbone.register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    try:
        with torch.no_grad():
            logits = model(images)
    finally:
        hook.remove()
    assert len(seen) == 1
    return logits, seen[0]


def _zero_padded_logits(model, images: torch.Tensor) -> torch.Tensor:
    """The logits with the old zero padding of the normalised image (for comparison)."""

    def zero_prepare(x):
        x = (x - model.pixel_mean) / model.pixel_std
        d = model.size_divisor
        return torch.nn.functional.pad(x, (0, -x.shape[-1] % d, 0, -x.shape[-2] % d))

    model._prepare = zero_prepare  # instance attribute: this model only
    try:
        with torch.no_grad():
            return model(images)
    finally:
        del model._prepare


@pytest.mark.parametrize("hw", [(200, 200), (200, 170)])
def test_image_is_padded_by_replicating_its_last_row_and_column(hw):
    torch.manual_seed(0)
    model = build_model(default_config("carafe", fpn_channels=8)).eval()
    images = torch.rand(2, 3, *hw)
    logits, x = _backbone_input(model, images)
    h, w = hw
    assert logits.shape == (2, 5, h, w)
    ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
    assert x.shape == (2, 3, ph, pw)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    normalised = (images - mean) / std
    torch.testing.assert_close(x[..., :h, :w], normalised)
    # every padded row is the last real row (padded columns included), every padded column
    # the last real column; nothing is zero there
    torch.testing.assert_close(x[..., h:, :], x[..., h - 1 : h, :].expand(-1, -1, ph - h, -1))
    torch.testing.assert_close(x[..., :, w:], x[..., :, w - 1 : w].expand(-1, -1, -1, pw - w))
    torch.testing.assert_close(
        x[..., h:, :w], normalised[..., h - 1 : h, :].expand_as(x[..., h:, :w])
    )
    assert (x[..., h:, :] != 0).all() and (x[..., :, w:] != 0).all()
    # and it is not what zero padding gives
    assert not torch.allclose(logits, _zero_padded_logits(model, images))


def test_a_multiple_of_32_is_not_padded_and_its_logits_are_unchanged():
    torch.manual_seed(0)
    model = build_model(default_config("carafe", fpn_channels=8)).eval()
    for p in model.parameters():  # every tensor matters, the tiny encoder init included
        p.data.normal_(0, 0.1)
    images = torch.rand(1, 3, 256, 192)
    logits, x = _backbone_input(model, images)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    assert x.shape == images.shape  # no padding at all
    torch.testing.assert_close(x, (images - mean) / std)
    # identical (bit for bit) to the old zero-padding model, which pads nothing here either
    assert torch.equal(logits, _zero_padded_logits(model, images))
    assert logits.abs().sum() > 0


def test_model_without_head_gives_features_only():
    config = default_config("carafe", fpn_channels=16)
    config.update(num_classes=0, class_names=[])
    model = build_model(config).eval()
    out = model.forward_with_intermediates(torch.rand(1, 3, 32, 32))
    assert out.logits is None and len(out.steps) == 3
    with pytest.raises(RuntimeError, match="no segmentation head"):
        model(torch.rand(1, 3, 32, 32))


@pytest.mark.parametrize("half", [False, True])
def test_checkpoint_round_trip(tmp_path, half):
    torch.manual_seed(0)
    model = build_model(default_config("carafe", fpn_channels=16)).eval()
    for p in model.parameters():  # make every tensor matter, including the tiny encoder init
        p.data.normal_(0, 0.1)
    path = save_checkpoint(model, tmp_path / "m.safetensors", half=half)
    assert json.loads((tmp_path / "m.json").read_text()) == model.config
    loaded = load_checkpoint(path)
    assert not loaded.training
    images = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected, got = model(images), loaded(images)
    if half:
        torch.testing.assert_close(got, expected, atol=0.05, rtol=0.05)
    else:
        torch.testing.assert_close(got, expected)


def test_checkpoint_errors(tmp_path):
    with pytest.raises(ValueError, match="must end in .safetensors"):
        save_checkpoint(build_model(default_config("nearest", fpn_channels=8)), tmp_path / "x.pt")
    with pytest.raises(FileNotFoundError, match="not found"):
        load_checkpoint(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="unknown pretrained model 'nope'; available"):
        load_pretrained("nope")


_SHIPPED = {"carafe", "bilinear"} <= set(list_pretrained())


@pytest.mark.skipif(not _SHIPPED, reason="shipped checkpoints not in assets/")
@pytest.mark.parametrize("name", ["carafe", "bilinear", "dysample", "fade", "sapa"])
def test_shipped_checkpoint_loads(name):
    model = load_pretrained(name)
    assert model.neck.upsample_kind == name and model.class_names[0] == "background"
    assert model.num_classes == len(model.class_names)


def _off_centre_same_side(kernels: torch.Tensor, k: int, edge_col: int, out_cols: list[int]):
    """Of the weight that output pixels in ``out_cols`` put off their centre tap, the share on
    their own side of a vertical edge (``edge_col``: the first source column right of it).

    Content-blind kernels cannot score well here: for half of these pixels, bilinear's
    off-centre taps lie mostly across the edge (0.71 over the four columns).
    """
    taps = kernels[0].view(k, k, *kernels.shape[-2:]).clone()  # (dy, dx, Y, X)
    r = (k - 1) // 2
    taps[r, r] = 0  # drop the centre tap
    shares = []
    for x_out in out_cols:
        src_cols = torch.arange(k) + x_out // 2 - r
        same = (src_cols < edge_col) if x_out < 2 * edge_col else (src_cols >= edge_col)
        shares.append(taps[:, same, :, x_out].sum(dim=(0, 1)) / taps[..., x_out].sum(dim=(0, 1)))
    return float(torch.stack(shares).mean())


def _finest_kernels(model, image: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        step = model.forward_with_intermediates(image).steps[-1]  # stride 8 -> 4
    assert step.stride_in == 8
    return step.details.kernels[:, :, 2:-2]  # rows away from the image border


@pytest.mark.skipif(not _SHIPPED, reason="shipped checkpoints not in assets/")
def test_shipped_carafe_kernels_follow_a_two_region_edge():
    torch.manual_seed(0)
    model = load_pretrained("carafe")
    k = model.neck.upsample_modules[0].up_kernel
    left, right = torch.tensor([0.15, 0.2, 0.35]), torch.tensor([0.9, 0.75, 0.5])
    noise = 0.03 * torch.randn(1, 3, 128, 128)
    edge = torch.empty(1, 3, 128, 128)
    edge[..., :64] = left.view(1, 3, 1, 1)
    edge[..., 64:] = right.view(1, 3, 1, 1)
    flat = ((left + right) / 2).view(1, 3, 1, 1).expand(1, 3, 128, 128)
    # The edge is between source columns 7 and 8; output pixels 14..17 sit next to it.
    cols = [14, 15, 16, 17]
    at_edge = _off_centre_same_side(_finest_kernels(model, (edge + noise).clamp(0, 1)), k, 8, cols)
    control = _off_centre_same_side(_finest_kernels(model, (flat + noise).clamp(0, 1)), k, 8, cols)
    phase = [bilinear_kernel_1d(k, 2, p) for p in (0, 1)]
    bilinear = torch.stack(
        [torch.outer(phase[y % 2], phase[x % 2]).flatten() for y in range(4) for x in range(32)]
    )
    bilinear = _off_centre_same_side(bilinear.T.reshape(1, k * k, 4, 32).float(), k, 8, cols)
    assert at_edge > bilinear + 0.1, f"edge {at_edge:.2f} vs bilinear's kernels {bilinear:.2f}"
    assert at_edge > control + 0.2, f"edge {at_edge:.2f} vs the same pixels on a flat image"


def test_carafe_pack_is_the_neck_upsampler():
    model = build_model(default_config("carafe", fpn_channels=16))
    assert all(isinstance(m, CARAFEPack) for m in model.neck.upsample_modules)


@pytest.mark.parametrize("kind", ["fade", "sapa"])
def test_guided_kinds_read_the_finer_lateral_in_the_fpn(kind):
    """A guided step upsamples the coarser map with the finer lateral as its guide, and the
    step stays lateral + upsampled; odd map sizes are padded for the guide and cropped back."""
    from carafe.models.fpn import FPN

    torch.manual_seed(0)
    fpn = FPN([4, 6, 8], [4, 8, 16], 8, {"kind": kind, "up_kernel": 3, "embedding_dim": 4})
    inputs = [torch.randn(2, 4, 13, 11), torch.randn(2, 6, 7, 6), torch.randn(2, 8, 4, 3)]
    outs, steps = fpn.forward_with_intermediates(inputs)
    laterals = [conv(x) for conv, x in zip(fpn.lateral_convs, inputs, strict=True)]
    finest = steps[-1]  # P3 -> P2: 7x6 -> 13x11 (odd: the guide is padded to 14x12)
    torch.testing.assert_close(finest.guide, laterals[0])
    padded = torch.nn.functional.pad(laterals[0], (0, 1, 0, 1))
    up = finest.module(steps[-2].output + laterals[1], padded)[..., :13, :11]
    torch.testing.assert_close(finest.output, up)
    torch.testing.assert_close(outs[0], fpn.fpn_convs[0](laterals[0] + up))
    assert finest.details.kernels.shape == (2, 9, 14, 12)


def test_fused_copy_agrees_with_the_model_and_leaves_it_alone():
    from carafe.models.inference import fused_for_inference

    torch.manual_seed(0)
    model = build_model(default_config("fade", fpn_channels=16)).eval()
    for m in model.modules():  # non-trivial statistics, so the fold matters
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    fused = fused_for_inference(model)
    norms = lambda net: sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())  # noqa: E731
    assert norms(fused) < norms(model) and norms(model) > 0
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), model(x), rtol=1e-4, atol=1e-4)
