"""Many styles in one model: colour statistics per style, seeds, references, mixing.

A tiny two-style task: a warm (red) and a cool (blue) procedural tint of other photos, with
very different colour statistics. A short run must already separate them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from conftest import PHOTO_NAMES, real_photo, tiny_config
from styleforge.inference.stylizer import Stylizer
from styleforge.training.trainer import Trainer

pytestmark = pytest.mark.slow  # end to end (training, export, processes): not in `make test-fast`

TINTS = {"warm": (1.25, 0.9, 0.6), "cool": (0.6, 0.9, 1.25)}


def tint(img: Image.Image, gains: tuple[float, float, float]) -> Image.Image:
    arr = np.asarray(img, dtype=np.float32) * np.array(gains, dtype=np.float32)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def mean_colour(images: list[Image.Image]) -> np.ndarray:
    return np.mean([np.asarray(i, dtype=np.float64).reshape(-1, 3).mean(0) for i in images], 0)


def luminance_ssim(a: Image.Image, b: Image.Image) -> float:
    x, y = (np.asarray(i.convert("L"), dtype=np.float64) for i in (a, b))
    return float(structural_similarity(x, y, data_range=255))


@pytest.fixture(scope="module")
def two_style_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Stylizer, dict]:
    root = tmp_path_factory.mktemp("two_styles")
    content = root / "content"
    content.mkdir()
    for name in ("astronaut", "rocket"):
        real_photo(name, 64).save(content / f"{name}.png")
    style_images = {}
    for style, gains in TINTS.items():
        folder = root / "styles" / style
        folder.mkdir(parents=True)
        style_images[style] = [tint(real_photo(n, 64), gains) for n in ("coffee", "chelsea")]
        for i, img in enumerate(style_images[style]):
            img.save(folder / f"{i}.png")
    config = tiny_config(content, root / "styles", steps=600)
    config.data.load_size, config.data.crop_size = 64, 48
    config.batch_size = 4
    config.optim.lr = 1e-3  # a short run: 600 steps
    config.optim.diffaug = "off"  # colour is the whole style here; keep D's view of it exact
    # noise variants are what these tests check: the diversity term asks for them, and at this
    # toy size (8 channels, 48-pixel crops, lr 1e-3) PatchNCE keeps the content the structure
    # term alone loses (luminance SSIM -0.05 after 600 steps without it)
    config.optim.lambda_ds, config.optim.content_loss = 1.0, "nce"
    result = Trainer(config, root / "run").run()
    return Stylizer.load(result.model_path), style_images


def test_each_style_gets_its_colours(two_style_model) -> None:
    stylizer, style_images = two_style_model
    photos = [real_photo(n, 64) for n in PHOTO_NAMES]
    targets = {s: mean_colour(imgs) for s, imgs in style_images.items()}
    for style, other in (("warm", "cool"), ("cool", "warm")):
        out = mean_colour([stylizer(p, style=style) for p in photos])
        assert np.linalg.norm(out - targets[style]) < np.linalg.norm(out - targets[other]), style


def test_seeds_vary_the_output_and_keep_the_content(two_style_model) -> None:
    stylizer, _ = two_style_model
    photo = real_photo("chelsea", 64)
    a = stylizer(photo, style="warm", seed=1)
    assert np.array_equal(np.asarray(a), np.asarray(stylizer(photo, style="warm", seed=1)))
    b = stylizer(photo, style="warm", seed=2)
    diff = np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)).mean()
    assert diff > 0.1  # mean absolute difference on the 0-255 scale
    for out in (a, b):
        assert luminance_ssim(out, photo) > 0.3


def test_reference_image_moves_toward_its_style(two_style_model) -> None:
    stylizer, _ = two_style_model
    photo = real_photo("coffee", 64)
    red_minus_blue = []
    for style in ("warm", "cool"):
        ref = tint(real_photo("rocket", 64), TINTS[style])
        out = np.asarray(stylizer(photo, style=style, reference=ref), dtype=float)
        red_minus_blue.append(out[..., 0].mean() - out[..., 2].mean())
    assert red_minus_blue[0] > red_minus_blue[1] + 5


def test_mix_and_truncation(two_style_model) -> None:
    stylizer, _ = two_style_model
    photo = real_photo("astronaut", 64)
    warm = mean_colour([stylizer(photo, style="warm")])
    cool = mean_colour([stylizer(photo, style="cool")])
    mid = mean_colour([stylizer(photo, mix={"warm": 0.5, "cool": 0.5})])
    assert min(warm[0], cool[0]) - 1 <= mid[0] <= max(warm[0], cool[0]) + 1
    same = stylizer(photo, style="warm", seed=3, truncation=0.0)
    other = stylizer(photo, style="warm", seed=4, truncation=0.0)
    assert np.array_equal(np.asarray(same), np.asarray(other))  # psi = 0: every seed is the mean


def test_cli_variants_grid_and_bad_mix(tmp_path: Path) -> None:
    import subprocess
    import sys

    from styleforge.modelfile import save_model
    from styleforge.models.stylenet import StyleNet

    config = tiny_config()
    config.model.styles = ["a", "b"]
    model = tmp_path / "m.safetensors"
    save_model(model, StyleNet(config.model), config, {"step": 0})
    real_photo("chelsea", 40).save(tmp_path / "in.png")
    size = Image.open(tmp_path / "in.png").size
    run = [sys.executable, "-m", "styleforge", "stylize", str(model), str(tmp_path / "in.png")]
    proc = subprocess.run(
        [*run, "-o", str(tmp_path / "v"), "--variants", "4"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "v" / "in.png").size == (size[0] * 2, size[1] * 2)
    for bad in ("a=x", "nope=1", "a=-1"):
        proc = subprocess.run(
            [*run, "-o", str(tmp_path / "w"), "--mix", bad],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1 and proc.stderr.startswith("error: "), (bad, proc.stderr)
