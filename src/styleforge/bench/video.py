"""Video benchmark: end-to-end stylization of a synthetic clip per frame size, beside the
generator's own time per frame and the floor (the same path with a free generator), all in the
same run, so the ratio "video / generator" survives a noisy machine.

Each size runs the same `stylize_video` that `styleforge stylize` runs (batches, threads,
encoder and its defaults: H.264, CRF 18), with a randomly initialised generator of the preset
(speed does not depend on the weights) in fp32. The first size also gets a row with
`--stabilize`. Every video run is timed whole (decode, render, encode); the median over runs.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from styleforge.bench.clips import frame_size, synthetic_clip, synthetic_frame
from styleforge.bench.inference import backend_stylizer
from styleforge.bench.memory import peak_rss_mib, reset_peak
from styleforge.bench.timing import Timing, time_call
from styleforge.data.augment import uint8_to_unit
from styleforge.extras import need
from styleforge.inference.backend import BaseStylizer
from styleforge.inference.video import BatchRenderer, stylize_video

log = logging.getLogger(__name__)


@dataclass
class VideoRow:
    preset: str
    frame: str  # width x height
    frames: int
    batch_size: int
    stabilize: bool
    fps: float  # frames per second, end to end
    ms_per_frame: float
    generator_ms_per_frame: float  # stylize_tensor on one batch at this size, per frame
    floor_ms_per_frame: float  # the same video path with the frames passed through unchanged
    vs_generator: float  # ms_per_frame / generator_ms_per_frame: what the video path adds
    peak_rss_mib: float
    runs: int

    def as_dict(self) -> dict:
        return asdict(self)


def run_video_bench(
    presets: list[str],
    heights: list[int],
    *,
    frames: int = 60,
    batch_size: int = 4,
    repeats: int = 10,
    max_seconds: float = 10.0,
    threads: int = 1,
    device: torch.device | None = None,
) -> list[VideoRow]:
    """Every preset x 16:9 frame height, plus one `--stabilize` row at the first height."""
    need("av")  # the [video] extra: say so before any work
    device = device or torch.device("cpu")
    rows: list[VideoRow] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for preset in presets:
            with backend_stylizer(preset, "fp32", workdir, threads, device) as stylizer:
                for i, height in enumerate(heights):
                    clip = synthetic_clip(workdir / f"{height}p.mp4", height, frames)
                    case = _Case(stylizer, clip, batch_size, repeats, max_seconds)
                    rows += case.rows(preset, height, frames, with_stabilize=i == 0)
    return rows


class _Case:
    """One clip through one stylizer: the generator alone, and whole video runs."""

    def __init__(
        self, stylizer: BaseStylizer, clip: Path, batch_size: int, repeats: int, max_seconds: float
    ):
        self.stylizer, self.clip, self.batch_size = stylizer, clip, batch_size
        self.repeats, self.max_seconds = repeats, max_seconds
        self.out = clip.with_name(f"{clip.stem}-out{clip.suffix}")
        self.code = stylizer.style_code()

    def rows(self, preset: str, height: int, frames: int, with_stabilize: bool) -> list[VideoRow]:
        """The plain row (and the --stabilize one), with the generator and the floor."""
        generator = self.generator_s_per_frame(height, min(self.batch_size, frames))
        floor = self.time(lambda frames: frames, stabilize=False)[0].median_s / frames
        rows = []
        for stabilize in (False, True) if with_stabilize else (False,):
            timing, peak = self.time(self.render, stabilize)
            rows.append(
                VideoRow(
                    preset=preset,
                    frame="{}x{}".format(*frame_size(height)),
                    frames=frames,
                    batch_size=self.batch_size,
                    stabilize=stabilize,
                    fps=frames / timing.median_s,
                    ms_per_frame=timing.median_s / frames * 1e3,
                    generator_ms_per_frame=generator * 1e3,
                    floor_ms_per_frame=floor * 1e3,
                    vs_generator=timing.median_s / frames / generator,
                    peak_rss_mib=float(np.round(peak, 1)),
                    runs=timing.runs,
                )
            )
            log.debug("%s", rows[-1])
        return rows

    def render(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        return self.stylizer.stylize_frames(frames, self.code)

    def generator_s_per_frame(self, height: int, batch_size: int) -> float:
        """Median time of `stylize_tensor` on one batch of frames of this size, per frame
        (its warm-up call warms the video runs that follow too)."""
        width, height = frame_size(height)
        batch = np.stack([synthetic_frame(width, height, i) for i in range(batch_size)])
        x = uint8_to_unit(torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous())
        timing = time_call(
            lambda: self.stylizer.stylize_tensor(x, self.code), self.repeats, self.max_seconds
        )
        return timing.median_s / batch_size

    def time(self, render: BatchRenderer, stabilize: bool) -> tuple[Timing, float]:
        """Whole video runs of the clip: their timing and the peak RSS over them (MiB)."""
        reset_peak()
        timing = time_call(
            lambda: stylize_video(
                self.clip, self.out, render, stabilize, batch_size=self.batch_size
            ),
            self.repeats,
            self.max_seconds,
            warmup=0,
        )
        return timing, peak_rss_mib()
