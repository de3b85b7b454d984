"""Video in, video out (PyAV): frame rate, timestamps, size and audio kept; one style code.

Three stages run side by side, each on its own thread (`prefetch`): decoding the next batch of
frames, rendering the current batch through the generator, and encoding the one before (with
`--stabilize` first, frame by frame in order). Each stage holds one batch, so memory does not
grow with the video's length. PyAV decodes and encodes with ffmpeg's own threads as well.

Video is re-encoded (`video_encoding`: H.264 for .mp4/.mov/.mkv/.m4v, VP9 for .webm, MPEG-4 for
.avi, or `--codec`); audio packets are copied unchanged. The output is written beside its target
and renamed into place when complete, so an interrupted run never leaves a truncated file under
the final name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from styleforge.errors import StyleforgeError
from styleforge.extras import need
from styleforge.inference.files import Job, RunReport
from styleforge.inference.prefetch import prefetch
from styleforge.inference.stabilize import ChangeMeter, FlowStabilizer
from styleforge.inference.video_encoding import VideoEncoding, add_video_stream
from styleforge.progress import progress_bar

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v", ".webm", ".avi")
# uint8 (H, W, 3) RGB frames of one size -> their stylized frames, in order
BatchRenderer = Callable[[list[np.ndarray]], list[np.ndarray]]


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


@dataclass
class _Batch:
    """Decoded frames with their timestamps, and the audio packets demuxed among them."""

    frames: list[np.ndarray] = field(default_factory=list)
    stamps: list[tuple[int | None, Fraction | None]] = field(default_factory=list)
    audio: list[Any] = field(default_factory=list)


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
    source: Path,
    target: Path,
    render: BatchRenderer,
    stabilize: bool = False,
    batch_size: int = 1,
    encoding: VideoEncoding | None = None,
) -> VideoResult:
    """Stylize every frame of `source` into `target`, `batch_size` frames per `render` call;
    see the module notes."""
    if batch_size < 1:
        raise StyleforgeError("the batch size must be at least 1")
    tmp = target.with_name(f".{target.stem}.partial{target.suffix}")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        result = _transcode(source, tmp, render, stabilize, batch_size, encoding or VideoEncoding())
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


def _transcode(
    source: Path,
    target: Path,
    render: BatchRenderer,
    stabilize: bool,
    batch_size: int,
    encoding: VideoEncoding,
) -> VideoResult:
    av = need("av")

    meter = ChangeMeter()
    stabilizer = FlowStabilizer() if stabilize else None
    with _open(source) as inp, _open(target, "w") as out:
        if not inp.streams.video:
            raise StyleforgeError(f"{source} has no video stream")
        vin = inp.streams.video[0]
        vin.codec_context.thread_type = "AUTO"  # frame and slice threads
        fps = Fraction(vin.average_rate or vin.guessed_rate or 25)
        width, height = vin.codec_context.width, vin.codec_context.height
        vout = add_video_stream(out, target, encoding, fps, width, height)
        vout.time_base = vin.time_base
        audio = {a: out.add_stream_from_template(a) for a in inp.streams.audio}
        decoded = prefetch(_decode(inp, vin, audio, batch_size), "video-decode")
        frames = 0
        with (
            closing(prefetch(_render(decoded, render), "video-render")) as rendered,
            progress_bar(total=vin.frames or None, desc=source.name, unit="frame") as bar,
        ):
            for batch, styled in rendered:
                for packet in batch.audio:
                    packet.stream = audio[packet.stream]
                    out.mux(packet)
                for rgb, (pts, time_base), frame in zip(
                    batch.frames, batch.stamps, styled, strict=True
                ):
                    if stabilizer is not None:
                        frame = stabilizer(rgb, frame)
                    meter.add(rgb, frame)
                    new = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
                    new.pts, new.time_base = pts, time_base
                    out.mux(vout.encode(new))
                    frames += 1
                    bar.update(1)
        out.mux(vout.encode(None))
    info = VideoInfo(frames, fps, width, height, bool(audio))
    return VideoResult(info, meter.ratio)


def _decode(inp: Any, vin: Any, audio: dict, batch_size: int) -> Iterator[_Batch]:
    """Batches of `batch_size` decoded frames (the last may be short), in order; the audio
    packets travel with the batch they were demuxed in."""
    batch = _Batch()
    for packet in inp.demux(vin, *audio):
        if packet.stream in audio:
            if packet.dts is not None:
                batch.audio.append(packet)
            continue
        for frame in packet.decode():
            batch.frames.append(frame.to_ndarray(format="rgb24"))
            batch.stamps.append((frame.pts, frame.time_base))
            if len(batch.frames) == batch_size:
                yield batch
                batch = _Batch()
    if batch.frames or batch.audio:
        yield batch


def _render(
    decoded: Generator[_Batch, None, None], render: BatchRenderer
) -> Iterator[tuple[_Batch, list[np.ndarray]]]:
    """Each batch with its stylized frames; closing this closes the decoding stage too."""
    with closing(decoded):
        for batch in decoded:
            styled = render(batch.frames) if batch.frames else []
            if len(styled) != len(batch.frames):
                raise StyleforgeError(
                    f"the renderer gave {len(styled)} frames for {len(batch.frames)}"
                )
            yield batch, styled


def run_video_jobs(
    jobs: list[Job],
    render: BatchRenderer,
    stabilize: bool,
    report: RunReport,
    batch_size: int = 1,
    encoding: VideoEncoding | None = None,
) -> list[tuple[Job, VideoResult]]:
    """Stylize each video job; failures go to `report` (like images), results are returned."""
    av = need("av")

    results: list[tuple[Job, VideoResult]] = []
    for job in jobs:
        try:
            result = stylize_video(job.source, job.target, render, stabilize, batch_size, encoding)
            results.append((job, result))
            report.done.append(job.target)
        except (StyleforgeError, OSError) as exc:
            report.failed.append((job.source, str(exc)))
        except av.error.FFmpegError as exc:  # a broken stream: report the file, go on
            report.failed.append((job.source, f"video error: {exc}"))
    return results
