"""Score stylized test photos of one task for style and for content, beside the references.

A task is a folder of training photos, a folder of style images, test photos and (for the
procedural styles) their ground truth. Every set of outputs gets the same scores as the
untouched photos (the identity) and the truth, so a model is read against doing nothing and
against the goal: the style probe's share, the FD-ENL0 gap closed (the relative FD drop where
there is no truth), SSIM to the truth and the gap it closes, and luminance SSIM to the input
beside the truth's own (`evaluation.style_measures`). The quality benchmark and the demo use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from styleforge.data.images import iter_image_files, load_rgb
from styleforge.evaluation.distances import frechet_distance
from styleforge.evaluation.metrics import PairedScores
from styleforge.evaluation.style_measures import StyleProbe, gap_closed, relative_drop
from styleforge.evaluation.unpaired import content_ssim
from styleforge.inference.files import grid, save_image
from styleforge.inference.stylizer import Stylizer
from styleforge.models.pretrained import EfficientNetLite0

HELD_OUT = 5  # every 5th style image is kept out of the style probe's fit, to test the probe
GRID_CELL = (224, 160)  # width, height of one image in the grids


@dataclass(frozen=True)
class StyleTask:
    """Train on content/ + style/, stylize test/, score (against truth/ if there is one)."""

    name: str
    content: Path
    style: Path
    test: Path
    truth: Path | None


@dataclass
class StyleScores:
    """Style and content of one set of outputs, each beside the identity's and the truth's."""

    probe_share: float  # share of outputs the style probe takes for the style
    probe_accuracy: float  # the probe's held-out accuracy (TRUSTED_PROBE: counted or not)
    fd_enl0: float
    fd_gap_closed: float | None  # identity 0, truth 1; None without a truth
    fd_drop: float  # (FD(identity) - FD) / FD(identity)
    ssim: float | None
    psnr: float | None
    ssim_gap_closed: float | None
    content_ssim: float  # luminance SSIM to the input
    truth_content_ssim: float | None  # the truth's own luminance SSIM to the input


def five_crops(img: Image.Image) -> list[Image.Image]:
    """Four corners and the centre at 3/4 of the shorter side: more samples for FD per image."""
    side = int(min(img.size) * 0.75)
    w, h = img.size
    corners = [(0, 0), (w - side, 0), (0, h - side), (w - side, h - side)]
    corners.append(((w - side) // 2, (h - side) // 2))
    return [img.crop((x, y, x + side, y + side)) for x, y in corners]


def crop_features(net: EfficientNetLite0, images: list[Image.Image]) -> np.ndarray:
    """Pooled features of five crops of each image."""
    return net.pooled([crop for img in images for crop in five_crops(img)])


class TaskScorer:
    """Scores one task's outputs; the reference sets' features and the probe are made once.

    The style probe is fitted on the task's training photos against its style images (all but
    every HELD_OUT-th), and its accuracy is read on the test photos against the style images it
    did not see (those held out, and the truth). FD is taken to the whole style set."""

    def __init__(self, task: StyleTask, net: EfficientNetLite0):
        self.task = task
        self.net = net
        self.inputs = {p.stem: load_rgb(p) for p in iter_image_files(task.test)}
        self.truths = (
            {name: load_rgb(task.truth / f"{name}.png") for name in self.inputs}
            if task.truth
            else {}
        )
        styles = [load_rgb(p) for p in iter_image_files(task.style)]
        fit = [img for i, img in enumerate(styles) if i % HELD_OUT != HELD_OUT - 1]
        held = [img for i, img in enumerate(styles) if i % HELD_OUT == HELD_OUT - 1]
        fit_features, held_features = crop_features(net, fit), crop_features(net, held)
        self.style_features = np.concatenate([fit_features, held_features])
        unseen = np.concatenate([held_features, crop_features(net, list(self.truths.values()))])
        photos = [load_rgb(p) for p in iter_image_files(task.content)]
        self.probe = StyleProbe(crop_features(net, photos), fit_features)
        input_features = crop_features(net, list(self.inputs.values()))
        self.probe_accuracy = self.probe.accuracy(input_features, unseen)
        self.identity_fd = frechet_distance(input_features, self.style_features)
        self.identity = self.paired(self.inputs)
        self.truth_fd = self.truth_content = None
        if self.truths:
            self.truth_fd = self.fd(self.truths)
            self.truth_content = self.content(self.truths)

    def paired(self, images: dict[str, Image.Image]) -> PairedScores | None:
        """Mean SSIM/PSNR/MSE of `images` against the truth; None for a task without one."""
        if not self.truths:
            return None
        return PairedScores.mean([PairedScores.of(images[n], self.truths[n]) for n in self.inputs])

    def fd(self, images: dict[str, Image.Image]) -> float:
        return frechet_distance(crop_features(self.net, list(images.values())), self.style_features)

    def content(self, images: dict[str, Image.Image]) -> float:
        """Mean luminance SSIM of `images` to their inputs."""
        return float(np.mean([content_ssim(self.inputs[n], images[n]) for n in self.inputs]))

    def stylize(self, model: Path, out_dir: Path) -> dict[str, Image.Image]:
        """Each test photo through the model (default noise seed), saved under `out_dir`; the
        model runs where the feature network does."""
        stylizer = Stylizer.load(model, self.net.device)
        outputs = {}
        for name, img in self.inputs.items():
            outputs[name] = stylizer(img)
            save_image(outputs[name], out_dir / f"{name}.png")
        return outputs

    def references(self) -> dict[str, StyleScores]:
        """The identity's scores (untouched photos) and, where the task has one, the truth's."""
        refs = {"identity": self.score(self.inputs)}
        if self.truths:
            refs["truth"] = self.score(self.truths)
        return refs

    def score(self, outputs: dict[str, Image.Image]) -> StyleScores:
        """Style and content scores of one output per test photo (keyed by the photo's name)."""
        paired, identity = self.paired(outputs), self.identity
        fd = self.fd(outputs)
        return StyleScores(
            probe_share=self.probe.share(crop_features(self.net, list(outputs.values()))),
            probe_accuracy=self.probe_accuracy,
            fd_enl0=fd,
            fd_gap_closed=(
                None if self.truth_fd is None else gap_closed(self.identity_fd, fd, self.truth_fd)
            ),
            fd_drop=relative_drop(self.identity_fd, fd),
            ssim=paired.ssim if paired else None,
            psnr=paired.psnr if paired else None,
            ssim_gap_closed=gap_closed(identity.ssim, paired.ssim, 1.0) if paired else None,
            content_ssim=self.content(outputs),
            truth_content_ssim=self.truth_content,
        )

    def grid(self, columns: dict[str, dict[str, Image.Image]], path: Path) -> None:
        """One row per test photo: input | truth (if any) | each column's output."""
        order = {"input": self.inputs, **({"truth": self.truths} if self.truths else {}), **columns}
        cells = [_fit(order[col][name]) for name in self.inputs for col in order]
        save_image(grid(cells, columns=len(order)), path)


def _fit(img: Image.Image) -> Image.Image:
    """The image scaled to fit a GRID_CELL box, centred on white."""
    box_w, box_h = GRID_CELL
    scale = min(box_w / img.width, box_h / img.height)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    cell = Image.new("RGB", GRID_CELL, "white")
    cell.paste(
        img.resize(size, Image.Resampling.LANCZOS), ((box_w - size[0]) // 2, (box_h - size[1]) // 2)
    )
    return cell
