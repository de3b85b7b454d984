"""Device choice: `auto` takes CUDA, then Apple's MPS, then the CPU; a device asked for by name
that is not there, or a name that is no device, is one StyleforgeError."""

from __future__ import annotations

import pytest
import torch

from styleforge.device import check_device_name, describe, pick_device
from styleforge.errors import StyleforgeError


def present(monkeypatch: pytest.MonkeyPatch, cuda: bool, mps: bool, gpus: int = 1) -> None:
    """Make torch report these accelerators (whatever this machine has)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus if cuda else 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize(
    ("cuda", "mps", "picked"),
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_auto_prefers_cuda_then_mps_then_cpu(
    monkeypatch: pytest.MonkeyPatch, cuda: bool, mps: bool, picked: str
) -> None:
    present(monkeypatch, cuda, mps)
    assert pick_device("auto") == torch.device(picked)
    assert pick_device() == torch.device(picked)


@pytest.mark.parametrize("name", ["cpu", "cuda", "cuda:1", "mps"])
def test_a_device_that_is_there_is_taken_as_named(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    present(monkeypatch, cuda=True, mps=True, gpus=2)
    assert pick_device(name) == torch.device(name)
    assert pick_device(torch.device(name)) == torch.device(name)  # a torch.device works too


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("cuda", "no CUDA device is available"),
        ("cuda:0", "no CUDA device is available"),
        ("mps", "Apple's MPS is not available"),
    ],
)
def test_a_device_that_is_not_there_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, name: str, needle: str
) -> None:
    present(monkeypatch, cuda=False, mps=False)
    with pytest.raises(StyleforgeError, match=f"--device {name} asked for, but {needle}"):
        pick_device(name)


def test_a_gpu_index_past_the_visible_ones_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    present(monkeypatch, cuda=True, mps=False, gpus=2)
    with pytest.raises(StyleforgeError, match="--device cuda:2 .* 2 CUDA device"):
        pick_device("cuda:2")


@pytest.mark.parametrize("name", ["tpu", "gpu", "cuda:", "cuda:x", "CPU", "", "mps:0"])
def test_names_that_are_no_device_are_refused(name: str) -> None:
    with pytest.raises(StyleforgeError, match="--device must be auto, cpu, cuda, cuda:N or mps"):
        pick_device(name)
    with pytest.raises(StyleforgeError):
        check_device_name(name)


def test_the_config_checks_the_same_names() -> None:
    from styleforge.config import TrainConfig

    TrainConfig(device="mps").validate()
    TrainConfig(device="cuda:3").validate()  # a name; whether it is there is asked at the start
    with pytest.raises(StyleforgeError, match="--device must be"):
        TrainConfig(device="tpu").validate()


def test_describe_names_the_cpu() -> None:
    assert describe(torch.device("cpu")) == "cpu"
