"""Video in, video out (PyAV): frame rate, timestamps, size and audio kept; one style code.

Frames are decoded, stylized and encoded one at a time, so memory does not grow with length.
Video is re-encoded (H.264 for .mp4/.mov/.mkv/.m4v, VP9 for .webm, MPEG-4 for .avi); audio
packets are copied unchanged. The output is written beside its target and renamed into place
when complete, so an interrupted run never leaves a truncated file under the final name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from styleforge.errors import StyleforgeError
from styleforge.extras import need
from styleforge.inference.files import Job, RunReport
from styleforge.inference.stabilize import ChangeMeter, FlowStabilizer
from styleforge.progress import progress_bar

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v", ".webm", ".avi")
FrameRenderer = Callable[[np.ndarray], np.ndarray]  # uint8 (H, W, 3) RGB -> same


def is_video(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass
class VideoInfo:
    frames: int
    fps: Fraction
    width: int
    height: int
    has_audio: bool


@dataclass
class VideoResult:
    info: VideoInfo
    change_ratio: float  # output frame-to-frame change over the input's (see ChangeMeter)


def probe(path: str | os.PathLike) -> VideoInfo:
    """Frame count (decoded, not guessed from the header), frame rate, size, audio."""

    with _open(path) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return VideoInfo(
            frames,
            Fraction(stream.average_rate),
            stream.codec_context.width,
            stream.codec_context.height,
            bool(container.streams.audio),
        )


def stylize_video(
    source: Path, target: Path, render: FrameRenderer, stabilize: bool = False
) -> VideoResult:
    """Stylize every frame of `source` into `target`; see the module notes."""
    tmp = target.with_name(f".{target.stem}.partial{target.suffix}")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        result = _transcode(source, tmp, render, stabilize)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return result


def _open(path: str | os.PathLike, mode: str = "r"):
    av = need("av")

    try:
        return av.open(str(path), mode)
    except (av.error.FFmpegError, OSError) as exc:
        raise StyleforgeError(f"cannot open video {path}: {exc}") from None


def _transcode(source: Path, target: Path, render: FrameRenderer, stabilize: bool) -> VideoResult:
    av = need("av")

    meter = ChangeMeter()
    stabilizer = FlowStabilizer() if stabilize else None
    with _open(source) as inp, _open(target, "w") as out:
        if not inp.streams.video:
            raise StyleforgeError(f"{source} has no video stream")
        vin = inp.streams.video[0]
        fps = Fraction(vin.average_rate or vin.guessed_rate or 25)
        width, height = vin.codec_context.width, vin.codec_context.height
        vout = out.add_stream(_codec_for(target), rate=fps)
        vout.width, vout.height = width, height
        vout.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        vout.time_base = vin.time_base
        if vout.codec_context.name == "libx264":
            vout.options = {"crf": "18", "preset": "veryfast"}
        audio = {a: out.add_stream_from_template(a) for a in inp.streams.audio}
        frames = 0
        with progress_bar(total=vin.frames or None, desc=source.name, unit="frame") as bar:
            for packet in inp.demux(vin, *audio):
                if packet.stream in audio:
                    if packet.dts is not None:
                        packet.stream = audio[packet.stream]
                        out.mux(packet)
                    continue
                for frame in packet.decode():
                    rgb = frame.to_ndarray(format="rgb24")
                    styled = render(rgb)
                    if stabilizer is not None:
                        styled = stabilizer(rgb, styled)
                    meter.add(rgb, styled)
                    new = av.VideoFrame.from_ndarray(np.ascontiguousarray(styled), format="rgb24")
                    new.pts, new.time_base = frame.pts, frame.time_base
                    out.mux(vout.encode(new))
                    frames += 1
                    bar.update(1)
        out.mux(vout.encode(None))
    info = VideoInfo(frames, fps, width, height, bool(audio))
    return VideoResult(info, meter.ratio)


def _codec_for(path: Path) -> str:
    suffix = path.suffix.lower()
    return {".webm": "libvpx-vp9", ".avi": "mpeg4"}.get(suffix, "libx264")


def run_video_jobs(
    jobs: list[Job], render: FrameRenderer, stabilize: bool, report: RunReport
) -> list[tuple[Job, VideoResult]]:
    """Stylize each video job; failures go to `report` (like images), results are returned."""
    av = need("av")

    results: list[tuple[Job, VideoResult]] = []
    for job in jobs:
        try:
            results.append((job, stylize_video(job.source, job.target, render, stabilize)))
            report.done.append(job.target)
        except (StyleforgeError, OSError) as exc:
            report.failed.append((job.source, str(exc)))
        except av.error.FFmpegError as exc:  # a broken stream: report the file, go on
            report.failed.append((job.source, f"video error: {exc}"))
    return results
