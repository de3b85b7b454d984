"""The training config's checks: values that cannot train are refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import tiny_config
from styleforge.errors import StyleforgeError


def test_crop_larger_than_images_is_an_error(tmp_path: Path, photo_dirs) -> None:
    content, style = photo_dirs
    config = tiny_config(content, style)
    config.data.load_size, config.data.crop_size = 40, 48
    with pytest.raises(StyleforgeError, match="--crop-size 48 is larger"):
        config.validate()


def test_unknown_diffaug_policy_is_an_error(photo_dirs) -> None:
    config = tiny_config(*photo_dirs)
    config.optim.diffaug_policy = "colour,blur"
    with pytest.raises(StyleforgeError, match="--diffaug-policy 'colour,blur': choose one or"):
        config.validate()


def test_crop_too_small_for_the_discriminator_is_an_error(photo_dirs) -> None:
    config = tiny_config(*photo_dirs)  # a 2-layer PatchGAN needs 16 pixels
    config.data.load_size, config.data.crop_size = 16, 16
    config.validate()
    config.data.load_size, config.data.crop_size = 12, 12
    config.model.n_down = 1
    with pytest.raises(StyleforgeError, match="--crop-size 12 is too small for a 2-layer PatchGAN"):
        config.validate()
