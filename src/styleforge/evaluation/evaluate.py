"""`styleforge evaluate`: stylize a test folder with one or more models and score the results.

Paired (`reference`): MSE/PSNR/SSIM against same-named ground-truth images. Unpaired (`style`):
FD-ENL0 / KD-ENL0 to the style set and content kept (luminance SSIM, ENL0 content distance);
standard FID/KID only with user-supplied Inception weights. The untouched input is always scored
as a row of its own, so a model is only called good when it beats doing nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from styleforge.atomic import atomic_write_bytes
from styleforge.data.images import iter_image_files, load_many, load_rgb, require_folder
from styleforge.device import pick_device
from styleforge.errors import StyleforgeError
from styleforge.evaluation.distances import small_set_warning
from styleforge.evaluation.metrics import PairedScores
from styleforge.evaluation.plots import plot_metric_bars
from styleforge.evaluation.report import ComparisonRow, Report
from styleforge.evaluation.style_measures import StyleProbe, gap_closed
from styleforge.evaluation.unpaired import FeatureNetwork, content_ssim, distribution_scores
from styleforge.inference.files import save_image
from styleforge.inference.stylizer import Stylizer
from styleforge.models.pretrained import EfficientNetLite0
from styleforge.progress import progress_bar
from styleforge.run_folder import LOSS_PLOT_NAME

log = logging.getLogger(__name__)
IDENTITY = "input (identity)"

Tick = Callable[[], object]  # moves a progress bar on by one image


@dataclass
class TestImage:
    name: str
    path: Path
    image: Image.Image
    reference: Path | None = None


@dataclass
class Evaluated:
    """One row of the comparison: a model's outputs (or the inputs themselves) and its scores."""

    name: str
    outputs: list[Path]
    run_dir: Path | None = None
    scores: dict[str, float] = field(default_factory=dict)
    per_image: dict[str, dict[str, float]] = field(default_factory=dict)


def load_test_images(content: Path, reference: Path | None) -> list[TestImage]:
    """Readable images of the content folder (bad ones skipped with a warning), each with its
    same-named reference when a reference folder is given."""
    folder = require_folder(content, "--content")
    refs = {}
    if reference is not None:
        refs = {p.stem: p for p in iter_image_files(require_folder(reference, "--reference"))}
    tests = []
    for path, image, error in load_many(iter_image_files(folder)):
        if error is not None:
            log.warning("skipped %s", error)
            continue
        ref = refs.get(path.stem)
        if reference is not None and ref is None:
            raise StyleforgeError(f"no reference image named {path.stem}.* in {reference}")
        tests.append(TestImage(path.stem, path, image, ref))
    if not tests:
        raise StyleforgeError(f"no usable image in {folder}")
    return tests


def load_style_set(style: Path) -> tuple[list[Path], list[Image.Image]]:
    paths, images = [], []
    for path, image, error in load_many(iter_image_files(require_folder(style, "--style"))):
        if error is not None:
            log.warning("skipped %s", error)
            continue
        paths.append(path)
        images.append(image)
    if len(images) < 2:
        raise StyleforgeError(f"--style {style} needs at least 2 readable images for a distance")
    return paths, images


def model_names(models: list[Path]) -> list[str]:
    """Run folder names (runs/toon/model.safetensors -> toon), made unique."""
    names: list[str] = []
    for path in models:
        base = path.parent.name if path.stem == "model" and path.parent.name else path.stem
        name, n = base, 2
        while name in names or name == IDENTITY:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    return names


def stylize_all(
    models: list[Path], tests: list[TestImage], out: Path, device: torch.device, seed: int
) -> list[Evaluated]:
    rows = []
    with progress_bar(total=len(models) * len(tests), desc="stylizing", unit="img") as bar:
        for name, path in zip(model_names(models), models, strict=True):
            stylizer = Stylizer.load(path, device=device)
            outputs = []
            for test in tests:
                target = out / name / f"{test.name}.png"
                save_image(stylizer(test.image, seed=seed), target)
                outputs.append(target)
                bar.update()
            rows.append(Evaluated(name, outputs, run_dir=path.parent))
            log.info("stylized %d images with %s", len(tests), name)
    return rows


def score_paired_rows(
    rows: list[Evaluated], tests: list[TestImage], tick: Tick = lambda: None
) -> None:
    """SSIM/PSNR/MSE to the references, and the SSIM gap closed between the identity (the first
    row: 0) and the references themselves (1). `tick` is called after each image."""
    for row in rows:
        per = []
        for out, test in zip(row.outputs, tests, strict=True):
            per.append(PairedScores.of(load_rgb(out), load_rgb(test.reference)))  # 8-bit RGB
            tick()
        mean = PairedScores.mean(per)
        row.scores.update({"SSIM": mean.ssim, "PSNR": mean.psnr, "MSE": mean.mse})
        identity = rows[0].scores["SSIM"]
        row.scores["SSIM gap closed"] = gap_closed(identity, mean.ssim, 1.0)
        for test, score in zip(tests, per, strict=True):
            row.per_image.setdefault(test.name, {}).update(
                {"SSIM": score.ssim, "PSNR": score.psnr, "MSE": score.mse}
            )


def score_unpaired_rows(
    rows: list[Evaluated],
    tests: list[TestImage],
    style_images: list[Image.Image],
    networks: list[FeatureNetwork],
    enl0: EfficientNetLite0,
    tick: Tick = lambda: None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Distribution and content scores into each row; returns the ENL0 features of the style
    set and of each row's outputs (the report reuses them to find each output's nearest style
    image). Every image is read once and every feature set computed once; `tick` is called
    after each image's content scores.

    The style probe is fitted on the test photos against the style set, so the identity row's
    share is read on the photos it was fitted on (near 0 by construction); a model's share on
    its outputs is out of sample: how many of them it takes for the style."""
    outputs = {row.name: [load_rgb(p) for p in row.outputs] for row in rows}
    style_feats: dict[str, np.ndarray] = {}
    row_feats: dict[str, dict[str, np.ndarray]] = {}
    for network in networks:
        style_feats[network.name] = network.pooled(style_images)
        for row in rows:
            feats = network.pooled(outputs[row.name])
            row_feats.setdefault(network.name, {})[row.name] = feats
            scores = distribution_scores(network.name, feats, style_feats[network.name])
            row.scores.update(scores.as_dict())
    # the first row is the untouched input: photos against the style set
    probe = StyleProbe(row_feats[enl0.name][rows[0].name], style_feats[enl0.name])
    for row in rows:
        row.scores["style probe"] = probe.share(row_feats[enl0.name][row.name])
    for row in rows:
        keep, dist = [], []
        for test, output in zip(tests, outputs[row.name], strict=True):
            keep.append(content_ssim(test.image, output))
            dist.append(enl0.content_distance(test.image, output))
            tick()
        row.scores.update(
            {"content SSIM": float(np.mean(keep)), "content dist": float(np.mean(dist))}
        )
    return style_feats[enl0.name], row_feats[enl0.name]


def nearest_style(
    output_feats: np.ndarray, style_paths: list[Path], style_feats: np.ndarray
) -> list[Path]:
    """For each output, the style image closest in feature space (what it resembles)."""
    dists = ((output_feats[:, None, :] - style_feats[None, :, :]) ** 2).sum(-1)
    return [style_paths[i] for i in dists.argmin(axis=1)]


def run_evaluation(
    models: list[Path],
    content: Path,
    out: Path,
    *,
    reference: Path | None = None,
    style: Path | None = None,
    inception_weights: Path | None = None,
    device: str = "auto",
    seed: int = 0,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Stylize, score, and write `report.html`, `metrics.json` and `metrics.png` into `out`.

    The models and the feature networks run on `device` (a missing one fails before any work)."""
    if reference is None and style is None:
        raise StyleforgeError("give --reference (paired truth) or --style (a style set), or both")
    if not models:
        raise StyleforgeError("give at least one model file")
    where = pick_device(device)
    inception = None
    if inception_weights is not None:
        from styleforge.evaluation.inception import InceptionFeatures

        inception = InceptionFeatures(inception_weights, where)  # a bad path fails before work
    if (out / "metrics.json").exists() and not overwrite:
        raise StyleforgeError(f"{out} holds an earlier evaluation; pass --overwrite to replace it")
    tests = load_test_images(content, reference)
    rows = [Evaluated(IDENTITY, [t.path for t in tests])]
    rows += stylize_all(models, tests, out, where, seed)
    notes = [f"{len(tests)} test images; noise seed {seed}."]

    style_paths = style_feats = output_feats = None
    scorings = (reference is not None) + (style is not None)
    with progress_bar(total=scorings * len(rows) * len(tests), desc="scoring", unit="img") as bar:
        if reference is not None:
            score_paired_rows(rows, tests, bar.update)
        if style is not None:
            enl0 = EfficientNetLite0(where)
            style_paths, style_images = load_style_set(style)
            networks: list[FeatureNetwork] = [enl0] + ([inception] if inception else [])
            style_feats, output_feats = score_unpaired_rows(
                rows, tests, style_images, networks, enl0, bar.update
            )
    if style is not None:
        warning = small_set_warning(len(tests), len(style_images))
        if warning:
            notes.append(warning)
        notes.append(
            "FD-ENL0 / KD-ENL0 use EfficientNet-Lite0 features: lower is closer to the style set; "
            "they are not comparable with FID/KID values. Style probe: the share of outputs a "
            "linear classifier on those features, fitted on the test photos against the style "
            "set, takes for the style (photos 0, style images 1)."
        )

    report = Report("styleforge evaluation")
    report.notes.extend(notes)
    keys = list(rows[0].scores)
    report.add_table(
        "mean scores (the first column is the untouched input)",
        ["model", *keys],
        [[row.name, *(_fmt(row.scores[k]) for k in keys)] for row in rows],
    )
    if reference is not None:
        report.add_table(
            "SSIM per image",
            ["image", *(row.name for row in rows)],
            [[t.name, *(_fmt(row.per_image[t.name]["SSIM"]) for row in rows)] for t in tests],
        )
    extra: list[tuple[str, list[Path]]] = []
    if reference is not None:
        extra.append(("reference", [t.reference for t in tests]))
    elif output_feats is not None and len(rows) > 1:
        extra.append(
            (
                "nearest style image",
                nearest_style(output_feats[rows[1].name], style_paths, style_feats),
            )
        )
    for i, test in enumerate(tests):
        images = [("input", test.path)] + [(row.name, row.outputs[i]) for row in rows[1:]]
        images += [(caption, paths[i]) for caption, paths in extra]
        report.rows.append(ComparisonRow(test.name, images))
    main_metric = "SSIM" if reference is not None else "FD-ENL0"
    plot = plot_metric_bars(
        {r.name: r.scores[main_metric] for r in rows}, main_metric, out / "metrics.png"
    )
    report.figures.append((f"{main_metric} per model", plot))
    for row in rows[1:]:
        if row.run_dir is not None and (row.run_dir / LOSS_PLOT_NAME).exists():
            report.figures.append((f"losses of {row.name}", row.run_dir / LOSS_PLOT_NAME))
    report.write(out / "report.html")
    metrics = {
        "notes": notes,
        "models": {row.name: row.scores for row in rows},
        "per_image": {row.name: row.per_image for row in rows if row.per_image},
    }
    atomic_write_bytes(out / "metrics.json", json.dumps(metrics, indent=2).encode())
    return metrics


def _fmt(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"
