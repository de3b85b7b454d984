"""Paired evaluation: stylize test photos and score them against their ground truth.

Every score comes with the identity baseline (the untouched input against the same truth), so
a model is only called good when it beats doing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from styleforge.data.images import iter_image_files, load_rgb
from styleforge.errors import StyleforgeError
from styleforge.evaluation.metrics import PairedScores
from styleforge.evaluation.report import ComparisonRow, Report
from styleforge.inference.files import save_image
from styleforge.inference.stylizer import Stylizer

HEADER = ["image", "SSIM", "PSNR dB", "MSE", "SSIM (input)", "PSNR (input)", "MSE (input)"]


@dataclass
class PairedResult:
    names: list[str] = field(default_factory=list)
    stylized: list[PairedScores] = field(default_factory=list)
    identity: list[PairedScores] = field(default_factory=list)
    rows: list[ComparisonRow] = field(default_factory=list)

    @property
    def mean(self) -> PairedScores:
        return PairedScores.mean(self.stylized)

    @property
    def identity_mean(self) -> PairedScores:
        return PairedScores.mean(self.identity)

    def table(self) -> list[list[str]]:
        body = [
            [name, *_cells(out), *_cells(idt)]
            for name, out, idt in zip(self.names, self.stylized, self.identity, strict=True)
        ]
        return [*body, ["mean", *_cells(self.mean), *_cells(self.identity_mean)]]

    def add_to(self, report: Report) -> None:
        report.add_table(
            "stylized vs ground truth; identity baseline: input vs truth", HEADER, self.table()
        )
        report.rows.extend(self.rows)


def score_paired(stylizer: Stylizer, inputs: Path, truths: Path, out_dir: Path) -> PairedResult:
    """Stylize every image in `inputs` into `out_dir` and score it against the same-named truth."""
    result = PairedResult()
    for path in iter_image_files(inputs):
        truth_path = truths / path.name
        if not truth_path.exists():
            raise StyleforgeError(f"no reference image {truth_path} for {path}")
        photo, truth = load_rgb(path), load_rgb(truth_path)
        output = stylizer(photo)
        target = out_dir / path.name
        save_image(output, target)
        result.names.append(path.stem)
        result.stylized.append(PairedScores.of(output, truth))
        result.identity.append(PairedScores.of(photo, truth))
        result.rows.append(
            ComparisonRow(path.stem, [("input", path), ("stylized", target), ("truth", truth_path)])
        )
    if not result.names:
        raise StyleforgeError(f"no images to evaluate in {inputs}")
    return result


def _cells(scores: PairedScores) -> list[str]:
    return [f"{scores.ssim:.4f}", f"{scores.psnr:.2f}", f"{scores.mse:.1f}"]
