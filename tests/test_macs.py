"""MAC counts of the presets."""

from __future__ import annotations

from conftest import preset
from styleforge.bench.macs import generator_macs


def test_lite_is_under_3_gmacs_and_resnet9_is_cyclegans_size() -> None:
    lite = generator_macs(preset("lite"), 256, 256)
    resnet9 = generator_macs(preset("resnet9"), 256, 256)
    assert lite < 3e9
    # resize+conv upsampling counts like GAN Compression's 56.8 G (real CycleGAN: 49.6 G)
    assert 56e9 < resnet9 < 58e9
