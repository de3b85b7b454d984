"""Evaluation: paired metrics, distribution distances, feature networks and the evaluate command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from conftest import posterise, real_photo, tiny_config
from styleforge.cli import main
from styleforge.data.demo import photo as demo_photo
from styleforge.data.procedural import cartoon
from styleforge.errors import StyleforgeError
from styleforge.evaluation.distances import (
    frechet_distance,
    frechet_from_moments,
    kernel_distance,
    small_set_warning,
)
from styleforge.evaluation.inception import FIDInceptionV3, InceptionFeatures
from styleforge.evaluation.metrics import mse, psnr, ssim
from styleforge.evaluation.unpaired import content_ssim
from styleforge.models.pretrained import EfficientNetLite0
from styleforge.training.trainer import Trainer


@pytest.fixture(scope="module")
def enl0() -> EfficientNetLite0:
    torch.set_num_threads(1)
    return EfficientNetLite0()


def test_paired_metrics_equal_scikit_image_on_random_images() -> None:
    rng = np.random.default_rng(0)
    for shape in [(64, 48, 3), (31, 77, 3)]:
        a = rng.integers(0, 256, shape, dtype=np.uint8)
        b = np.clip(a.astype(int) + rng.integers(-40, 41, shape), 0, 255).astype(np.uint8)
        err = np.mean((a.astype(float) - b.astype(float)) ** 2)
        assert mse(a, b) == pytest.approx(err)
        assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / err))
        assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255))
        expected = structural_similarity(a, b, channel_axis=-1, data_range=255)
        assert ssim(a, b) == pytest.approx(expected)
        assert ssim(a, a) == pytest.approx(1.0)
        assert psnr(a, a) == float("inf")


def test_frechet_distance_matches_the_gaussian_closed_form() -> None:
    rng = np.random.default_rng(1)
    dim = 4
    mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
    var1, var2 = rng.uniform(0.5, 2.0, dim), rng.uniform(0.5, 2.0, dim)
    # diagonal covariances commute: FD = |mu1 - mu2|^2 + sum (s1 + s2 - 2 sqrt(s1 s2))
    closed = np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2 * np.sqrt(var1 * var2))
    exact = frechet_from_moments(mu1, np.diag(var1), mu2, np.diag(var2))
    assert exact == pytest.approx(closed, rel=1e-9)
    # a rotated (non-diagonal) pair: FD is invariant to a common rotation of both sets
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    rotated = frechet_from_moments(
        q @ mu1, q @ np.diag(var1) @ q.T, q @ mu2, q @ np.diag(var2) @ q.T
    )
    assert rotated == pytest.approx(closed, rel=1e-6)
    # sampled sets converge to the closed form
    a = mu1 + rng.normal(size=(200_000, dim)) * np.sqrt(var1)
    b = mu2 + rng.normal(size=(200_000, dim)) * np.sqrt(var2)
    assert frechet_distance(a, b) == pytest.approx(closed, rel=0.02)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_kernel_distance_is_unbiased_near_zero_for_one_distribution() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(300, 16)), rng.normal(size=(300, 16))
    shifted = rng.normal(size=(300, 16)) + 0.5
    same = kernel_distance(a, b, subsets=20, subset_size=200)
    other = kernel_distance(a, shifted, subsets=20, subset_size=200)
    assert abs(same.mean) < 3 * same.std + 1e-3
    assert other.mean > 10 * max(abs(same.mean), same.std)


def test_small_sets_are_named_in_a_warning() -> None:
    assert small_set_warning(100, 60) is None
    assert "only 3 images" in small_set_warning(3, 80)


def _crops(name: str, size: int = 160) -> list[np.ndarray]:
    """The four corner crops of a packaged photo: more samples from few images."""
    img = np.asarray(demo_photo(name))
    return [img[:size, :size], img[:size, -size:], img[-size:, :size], img[-size:, -size:]]


@pytest.mark.slow
def test_fd_enl0_photos_are_closer_to_photos_than_to_cartoons(enl0: EfficientNetLite0) -> None:
    photos_a = [c for n in ("astronaut", "rocket", "coffee") for c in _crops(n)]
    photos_b = [c for n in ("chelsea", "motorcycle_left", "china") for c in _crops(n)]
    feats_a, feats_b = enl0.pooled(photos_a), enl0.pooled(photos_b)
    feats_cartoon = enl0.pooled([cartoon(c) for c in photos_b])
    assert frechet_distance(feats_a, feats_b) < frechet_distance(feats_a, feats_cartoon)
    assert kernel_distance(feats_a, feats_b).mean < kernel_distance(feats_a, feats_cartoon).mean


def test_content_scores_tell_kept_structure_from_lost(enl0: EfficientNetLite0) -> None:
    photo = np.asarray(real_photo("chelsea", 128))
    graded = np.clip(photo * np.array([1.1, 0.9, 0.8]), 0, 255).astype(np.uint8)
    other = np.asarray(real_photo("coffee", 128))[: photo.shape[0], : photo.shape[1]]
    assert content_ssim(photo, photo) == pytest.approx(1.0)
    assert content_ssim(photo, graded) > 0.9 > 0.3 > content_ssim(photo, other)
    assert enl0.content_distance(photo, photo) == pytest.approx(0.0, abs=1e-6)
    assert enl0.content_distance(photo, graded) < enl0.content_distance(photo, other)


def test_missing_inception_weights_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    with pytest.raises(StyleforgeError, match="never downloaded"):
        InceptionFeatures(tmp_path / "nowhere.pth")
    code = main(
        ["evaluate", str(tmp_path / "m.safetensors"), "--content", str(tmp_path), "--style",
         str(tmp_path), "--inception-weights", str(tmp_path / "nowhere.pth"), "-o",
         str(tmp_path / "eval")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: --inception-weights") and err.count("\n") == 1


def test_inception_weights_load_with_every_key_checked(tmp_path: Path) -> None:
    """A state dict in the FID file's layout loads and gives 2048-d features; another network's
    weights are refused with one line (the real file cannot be shipped, so layouts are checked)."""
    torch.manual_seed(0)
    good = tmp_path / "fid_layout.pth"
    torch.save(FIDInceptionV3().state_dict(), good)
    feats = InceptionFeatures(good).pooled([np.asarray(real_photo("rocket", 64))])
    assert feats.shape == (1, 2048) and np.isfinite(feats).all()
    wrong = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3, 3, 3, 3)}, wrong)
    with pytest.raises(StyleforgeError, match="not the FID Inception weights"):
        InceptionFeatures(wrong)


@pytest.fixture(scope="module")
def eval_task(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two briefly trained tiny models, test photos, their cartoon truth and a style set."""
    root = tmp_path_factory.mktemp("eval")
    content, style, test, truth, styles = (
        root / name for name in ("content", "style", "test", "truth", "styles")
    )
    for folder in (content, style, test, truth, styles):
        folder.mkdir()
    for name in ("astronaut", "chelsea"):
        real_photo(name).save(content / f"{name}.png")
    for name in ("coffee", "rocket"):
        posterise(real_photo(name)).save(style / f"{name}.png")
    models = []
    for seed in (0, 1):
        Trainer(tiny_config(content, style, steps=3, seed=seed), root / f"run{seed}").run()
        models.append(root / f"run{seed}" / "model.safetensors")
    for name in ("coffee", "rocket"):
        img = real_photo(name, 72)
        img.save(test / f"{name}.png")
        Image.fromarray(cartoon(np.asarray(img))).save(truth / f"{name}.jpg")
    for name in ("astronaut", "chelsea", "camera"):
        img = np.asarray(real_photo(name, 72).convert("RGB"))
        Image.fromarray(cartoon(img)).save(styles / f"{name}.png")
    return {"models": models, "test": test, "truth": truth, "styles": styles, "root": root}


def _evaluate_argv(task: dict[str, Path], out: Path) -> list[str]:
    return [
        "evaluate", *map(str, task["models"]), "--content", str(task["test"]),
        "--reference", str(task["truth"]), "--style", str(task["styles"]), "-o", str(out),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def evaluated(eval_task: dict[str, Path]) -> Path:
    out = eval_task["root"] / "eval"
    assert main(_evaluate_argv(eval_task, out)) == 0
    return out


@pytest.mark.slow
def test_evaluate_writes_report_and_metrics_for_several_models(
    eval_task: dict[str, Path], evaluated: Path
) -> None:
    metrics = json.loads((evaluated / "metrics.json").read_text())
    rows = metrics["models"]
    assert list(rows) == ["input (identity)", "run0", "run1"]
    for scores in rows.values():
        assert {"SSIM", "PSNR", "MSE", "FD-ENL0", "KD-ENL0", "content SSIM"} <= set(scores)
    assert rows["input (identity)"]["content SSIM"] == pytest.approx(1.0)
    # the style measures: the untouched photos close no gap and the probe takes none of them
    assert rows["input (identity)"]["SSIM gap closed"] == 0
    assert rows["input (identity)"]["style probe"] == 0
    for scores in rows.values():
        assert 0 <= scores["style probe"] <= 1
        identity_ssim = rows["input (identity)"]["SSIM"]
        closed = (scores["SSIM"] - identity_ssim) / (1 - identity_ssim)
        assert scores["SSIM gap closed"] == pytest.approx(closed)
    assert rows["run0"]["SSIM"] != rows["run1"]["SSIM"]  # two different models were run
    # the identity row is the real input-vs-truth score
    truth = np.asarray(Image.open(eval_task["truth"] / "coffee.jpg"))
    photo = np.asarray(Image.open(eval_task["test"] / "coffee.png"))
    assert metrics["per_image"]["input (identity)"]["coffee"]["SSIM"] == pytest.approx(
        ssim(photo, truth)
    )
    assert any("only 2 images" in note for note in metrics["notes"])
    page = (evaluated / "report.html").read_text()
    assert "run0/coffee.png" in page and "metrics.png" in page and "losses of run0" in page
    assert Image.open(evaluated / "metrics.png").size[0] > 100


@pytest.mark.slow
def test_evaluate_refuses_to_replace_results_without_overwrite(
    eval_task: dict[str, Path], evaluated: Path, capsys: pytest.CaptureFixture
) -> None:
    argv = _evaluate_argv(eval_task, evaluated)
    assert main(argv) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert "FD-ENL0" in capsys.readouterr().out


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian chromium not installed (.ci/run installs it)"
)
@pytest.mark.slow
def test_report_renders_in_headless_chromium_without_console_errors(evaluated: Path) -> None:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        # tall enough that every lazily loaded image is in view and gets fetched
        page = browser.new_page(viewport={"width": 1280, "height": 8000})
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
        page.goto((evaluated / "report.html").as_uri())
        page.wait_for_load_state("networkidle")
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"
        )
        images = page.evaluate("document.images.length")
        page.screenshot(path=str(evaluated / "report.png"), full_page=True)
        browser.close()
    assert problems == []
    assert images >= 2 * 4 and broken == 0
    assert Image.open(evaluated / "report.png").size[1] > 300


def test_loading_the_feature_network_leaves_the_seeded_rng_alone() -> None:
    """A seeded run's networks must not depend on whether this process loaded it before."""
    torch.manual_seed(0)
    expected = torch.rand(4)
    torch.manual_seed(0)
    EfficientNetLite0()
    assert torch.equal(torch.rand(4), expected)
