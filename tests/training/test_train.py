"""Training CLI: steps, checkpoints, resume, deterministic batches, DDP."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from carafe.models import load_checkpoint
from carafe.training.train import _augment, _batch_plan, main


def _train(tmp_path, *extra):
    out = tmp_path / "run"
    main(
        [
            "--upsampler",
            "carafe",
            "--out",
            str(out),
            "--steps",
            "2",
            "--batch-size",
            "2",
            "--train-images",
            "4",
            "--image-size",
            "64",
            "--fpn-channels",
            "8",
            "--checkpoint-every",
            "1",
            "--warmup",
            "1",
            "--no-pretrained",
            "--cache-dir",
            str(tmp_path / "cache"),
            *extra,
        ]
    )
    return out


def test_training_steps_save_and_resume(tmp_path):
    out = _train(tmp_path)
    model = load_checkpoint(out / "model.safetensors")
    info = model.config["training"]
    assert info["steps"] == 2 and info["resumed_from"] == 0 and info["seed"] == 0
    assert model.neck.upsample_kind == "carafe"
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["step"] == 2
    assert not torch.equal(
        state["model"]["neck.upsample_modules.0.content_encoder.bias"], torch.zeros(100)
    )  # the upsampler was trained
    _train(tmp_path, "--resume", "--steps", "3")
    config = json.loads((out / "model.json").read_text())
    assert config["training"]["resumed_from"] == 2 and config["training"]["steps"] == 3
    assert torch.load(out / "last.pt", weights_only=True)["step"] == 3


def test_resume_refuses_a_different_run(tmp_path):
    _train(tmp_path)
    with pytest.raises(SystemExit, match="is a carafe run with seed 0"):
        _train(tmp_path, "--resume", "--seed", "1")


def test_batch_plan_is_a_function_of_seed_and_step():
    a, code_a = _batch_plan(3, 10, 100, 8)
    b, code_b = _batch_plan(3, 10, 100, 8)
    assert torch.equal(a, b) and code_a == code_b
    assert not torch.equal(a, _batch_plan(3, 11, 100, 8)[0])
    x = torch.arange(6.0).view(1, 2, 3)
    assert {tuple(_augment(x, c).flatten().tolist()) for c in range(8)}.__len__() == 8


@pytest.mark.slow
def test_torchrun_ddp_two_processes(tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    out = tmp_path / "ddp"
    subprocess.run(
        [
            str(torchrun),
            "--nproc_per_node",
            "2",
            "-m",
            "carafe.training.train",
            "--upsampler",
            "carafe",
            "--out",
            str(out),
            "--steps",
            "2",
            "--batch-size",
            "4",
            "--train-images",
            "8",
            "--image-size",
            "64",
            "--fpn-channels",
            "8",
            "--no-pretrained",
            "--threads",
            "1",
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        check=True,
        timeout=300,
    )
    config = json.loads((out / "model.json").read_text())
    assert config["training"]["world_size"] == 2
    assert torch.load(out / "last.pt", weights_only=True)["step"] == 2
