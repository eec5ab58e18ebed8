"""mmdetection R-50 FPN_CARAFE checkpoint conversion, on a state dict built here from the spec."""

import json
from pathlib import PurePosixPath

import pytest
import torch

from carafe.models import load_checkpoint
from carafe.tools.convert_mmdet import ConversionError, convert, main


def _bn(prefix, c):
    return {
        f"{prefix}.weight": (c,),
        f"{prefix}.bias": (c,),
        f"{prefix}.running_mean": (c,),
        f"{prefix}.running_var": (c,),
        f"{prefix}.num_batches_tracked": (),
    }


def _mmdet_shapes():
    """Key -> shape of mmdetection's faster_rcnn_r50_fpn_carafe_1x_coco (written from the spec)."""
    shapes = {"backbone.conv1.weight": (64, 3, 7, 7), **_bn("backbone.bn1", 64)}
    c_in = 64
    for layer, (planes, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3)), 1):
        for b in range(blocks):
            p = f"backbone.layer{layer}.{b}"
            shapes |= {
                f"{p}.conv1.weight": (planes, c_in, 1, 1),
                **_bn(f"{p}.bn1", planes),
                f"{p}.conv2.weight": (planes, planes, 3, 3),
                **_bn(f"{p}.bn2", planes),
                f"{p}.conv3.weight": (planes * 4, planes, 1, 1),
                **_bn(f"{p}.bn3", planes * 4),
            }
            if b == 0:
                shapes |= {
                    f"{p}.downsample.0.weight": (planes * 4, c_in, 1, 1),
                    **_bn(f"{p}.downsample.1", planes * 4),
                }
            c_in = planes * 4
    for i, c in enumerate((256, 512, 1024, 2048)):
        shapes |= {f"neck.lateral_convs.{i}.conv.weight": (256, c, 1, 1)}
    shapes |= {"neck.lateral_convs.4.conv.weight": (256, 2048, 3, 3)}  # extra level, stride 2
    for i in range(5):
        shapes |= {
            f"neck.lateral_convs.{i}.conv.bias": (256,),
            f"neck.fpn_convs.{i}.conv.weight": (256, 256, 3, 3),
            f"neck.fpn_convs.{i}.conv.bias": (256,),
        }
    for i in range(4):
        p = f"neck.upsample_modules.{i}"
        shapes |= {
            f"{p}.channel_compressor.weight": (64, 256, 1, 1),
            f"{p}.channel_compressor.bias": (64,),
            f"{p}.content_encoder.weight": (100, 64, 3, 3),
            f"{p}.content_encoder.bias": (100,),
        }
    shapes |= {
        "rpn_head.rpn_conv.weight": (256, 256, 3, 3),
        "roi_head.bbox_head.fc_cls.bias": (81,),
    }
    return shapes


@pytest.fixture(scope="module")
def mmdet_file(tmp_path_factory):
    torch.manual_seed(0)
    state = {}
    for key, shape in _mmdet_shapes().items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(1000)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape) + 0.5
        else:
            state[key] = torch.randn(shape) * 0.02
    path = tmp_path_factory.mktemp("mmdet") / "faster_rcnn_r50_fpn_carafe.pth"
    torch.save(
        {"meta": {"mmdet_version": "2.0.0", "CLASSES": ("person", "bicycle")}, "state_dict": state},
        path,
    )
    return path, state


def test_convert_keeps_backbone_and_neck(mmdet_file, tmp_path):
    src, state = mmdet_file
    out = convert(src, tmp_path / "coco_carafe.safetensors")
    config = json.loads(out.with_suffix(".json").read_text())
    assert config["upsampler"] == {
        "kind": "carafe",
        "up_kernel": 5,
        "up_group": 1,
        "encoder_kernel": 3,
        "encoder_dilation": 1,
        "compressed_channels": 64,
    }
    assert config["num_outs"] == 5 and config["fpn_channels"] == 256
    model = load_checkpoint(out)
    assert model.head is None
    converted = {f"backbone.{k}": v for k, v in model.backbone.state_dict().items()}
    converted |= {f"neck.{k}": v for k, v in model.neck.state_dict().items()}
    assert set(converted) == {k for k in state if k.startswith(("backbone.", "neck."))}
    for key, value in converted.items():
        assert torch.equal(value, state[key].to(value.dtype)), key
    with torch.no_grad():
        out = model.forward_with_intermediates(torch.rand(1, 3, 70, 90))
    assert out.logits is None
    assert [(s.stride_in, s.stride_out) for s in out.steps] == [
        (64, 32),
        (32, 16),
        (16, 8),
        (8, 4),
    ]
    kernels = out.steps[-1].details.kernels
    assert kernels.shape[1] == 25
    torch.testing.assert_close(kernels.sum(1), torch.ones_like(kernels[:, 0]))


def test_cli_reports_clear_errors(tmp_path):
    bad = tmp_path / "bad.pth"  # pickles an object that weights_only loading must refuse
    torch.save({"state_dict": {"backbone.x": torch.zeros(1)}, "obj": PurePosixPath("x")}, bad)
    with pytest.raises(SystemExit, match="weights-only"):
        main([str(bad), str(tmp_path / "o.safetensors")])
    wrong = tmp_path / "wrong.pth"
    torch.save({"state_dict": {"encoder.weight": torch.zeros(1)}}, wrong)
    with pytest.raises(SystemExit, match="no 'backbone.\\*' weights"):
        main([str(wrong), str(tmp_path / "o.safetensors")])
    small = tmp_path / "r18.pth"
    torch.save({"state_dict": {"backbone.layer1.0.conv1.weight": torch.zeros(1)}}, small)
    with pytest.raises(ConversionError, match="not a ResNet-50"):
        convert(small, tmp_path / "o.safetensors")
    with pytest.raises(SystemExit, match="no such checkpoint"):
        main([str(tmp_path / "missing.pth"), str(tmp_path / "o.safetensors")])
