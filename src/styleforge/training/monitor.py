"""What a run writes for people to watch: metrics JSONL, TensorBoard events, loss plot, samples."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from styleforge.atomic import atomic_write_bytes
from styleforge.data.augment import unit_to_uint8
from styleforge.run_folder import METRICS_NAME

log = logging.getLogger(__name__)

# the losses the progress bar shows, by their short names (metrics.jsonl and TensorBoard hold
# them all): the two players' and the content term of the recipe, at most BAR_LOSSES_SHOWN
BAR_LOSSES = {
    "loss/d": "D",
    "loss/g_gan": "G",
    "loss/feat": "feat",
    "loss/nce": "nce",
    "loss/cycle": "cycle",
    "loss/pixel": "pixel",
}
BAR_LOSSES_SHOWN = 4


class MetricsLog:
    """Appends one JSON line per logged step and mirrors scalars to TensorBoard."""

    def __init__(self, run_dir: Path, resume_step: int = 0, tensorboard: bool = True):
        self.path = run_dir / METRICS_NAME
        if resume_step and self.path.exists():
            # drop lines from after the checkpoint we resume from, so the history has no repeats
            kept = [row for row in read_metrics(self.path) if row.get("step", 0) <= resume_step]
            text = "".join(json.dumps(row) + "\n" for row in kept)
            try:
                atomic_write_bytes(self.path, text.encode())  # a kill here keeps the old history
            except OSError as exc:  # disk full: keep training, the history has repeats
                log.warning("%s", exc)
        elif self.path.exists():
            self.path.unlink()
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_step)
            except ImportError:  # tensorboard is a dependency, but keep training if it is broken
                log.warning("tensorboard is not importable; writing metrics.jsonl only")

    def write(self, step: int, values: dict[str, float]) -> None:
        row = {"step": step, **{k: round(float(v), 6) for k, v in values.items()}}
        try:
            with self.path.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
        except OSError as exc:  # disk full: the checkpoints matter, the log line does not
            log.warning("metrics line for step %d not written: %s", step, exc)
        if self.writer:
            for key, value in values.items():
                self.writer.add_scalar(key, value, step)

    def image(self, tag: str, grid: torch.Tensor, step: int) -> None:
        """A uint8 (3, H, W) image to TensorBoard (the sample grids); nothing without it."""
        if self.writer:
            self.writer.add_image(tag, grid, step)

    def close(self) -> None:
        if self.writer:
            self.writer.close()


def bar_postfix(means: dict[str, float], seconds_left: float | None = None) -> dict[str, str]:
    """What the progress bar shows after its step count, speed and ETA: a few mean losses (3
    significant digits) and, for a time budget, the time left (tqdm's ETA counts steps)."""
    shown = [(short, means[key]) for key, short in BAR_LOSSES.items() if key in means]
    postfix = {short: f"{value:.3g}" for short, value in shown[:BAR_LOSSES_SHOWN]}
    if seconds_left is not None:
        postfix["left"] = tqdm.format_interval(max(0.0, seconds_left))
    return postfix


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Rows of a metrics JSONL file; a torn last line (from a kill) is ignored."""
    rows = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def plot_losses(metrics_path: Path, out_path: Path) -> Path | None:
    """One panel per loss against step, written as a PNG; None if there is nothing to plot."""
    rows = read_metrics(metrics_path) if metrics_path.exists() else []
    keys = sorted({k for row in rows for k in row if k.startswith("loss/")})
    if not rows or not keys:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.2 * len(keys)), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], keys, strict=True):
        steps = [row["step"] for row in rows if key in row]
        ax.plot(steps, [row[key] for row in rows if key in row], linewidth=1)
        ax.set_ylabel(key.removeprefix("loss/"))
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    fig.savefig(out_path, dpi=100)
    plt.close(fig)
    return out_path


def image_grid(rows: list[torch.Tensor]) -> torch.Tensor:
    """Stack (N, 3, H, W) tensors in [-1, 1] as columns: one row of the grid per image."""
    columns = [torch.cat(list(batch), dim=2) for batch in rows]  # each (3, H, N*W)
    return unit_to_uint8(torch.cat(columns, dim=1))  # (3, rows*H, N*W)


def save_grid(path: Path, grid: torch.Tensor) -> None:
    """Save an `image_grid` as a PNG, atomically."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(grid.permute(1, 2, 0).numpy()).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
