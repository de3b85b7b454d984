"""Video: a generated 3-second clip with audio round-trips with its frame count, rate, size and
timestamps; batched rendering gives the frames that frame-by-frame rendering gives; --crf and
--codec reach the encoder, and bad values are one error line before any work."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import real_photo, untrained_stylizer
from styleforge.cli import main
from styleforge.errors import StyleforgeError
from styleforge.inference.files import Job, RunReport
from styleforge.inference.stylizer import Stylizer
from styleforge.inference.video import probe, run_video_jobs, stylize_video
from styleforge.inference.video_encoding import VideoEncoding
from styleforge.modelfile import save_model

FPS, SECONDS, WIDTH, HEIGHT = 12, 3, 96, 64


def make_clip(path: Path, frames: int = FPS * SECONDS) -> None:
    """A real photo panned across (12 fps, 96x64, H.264) with a 440 Hz AAC tone as long."""
    photo = np.asarray(real_photo("astronaut", 160))
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = out.add_stream("aac", rate=16000)
        audio.layout = "mono"
        for i in range(frames):
            crop = photo[20 + i // 3 : 20 + i // 3 + HEIGHT, 10 + i : 10 + i + WIDTH]
            noisy = np.clip(crop + rng.normal(0, 3, crop.shape), 0, 255).astype(np.uint8)
            out.mux(video.encode(av.VideoFrame.from_ndarray(noisy, format="rgb24")))
        out.mux(video.encode(None))
        t = np.arange(16000 * frames // FPS) / 16000
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], "fltp", "mono")
            frame.sample_rate, frame.pts = 16000, start
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))


@pytest.fixture
def stylizer() -> Stylizer:
    return untrained_stylizer(3)


def render_with(stylizer: Stylizer, batches: list[int] | None = None):
    """The batch renderer the CLI uses: one code for every frame (fixed noise); the sizes of
    the batches it is given go to `batches`."""
    code = stylizer.style_code(seed=0)

    def render(frames: list[np.ndarray]) -> list[np.ndarray]:
        if batches is not None:
            batches.append(len(frames))
        return stylizer.stylize_frames(frames, code)

    return render


def decoded(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """Every frame of a video (RGB) and its time in seconds."""
    with av.open(str(path)) as container:
        frames = list(container.decode(container.streams.video[0]))
    return [f.to_ndarray(format="rgb24") for f in frames], [float(f.time) for f in frames]


def test_round_trip_keeps_frames_rate_size_timestamps_audio(
    tmp_path: Path, stylizer: Stylizer
) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip)
    source = probe(clip)
    assert source.frames == FPS * SECONDS and source.fps == Fraction(FPS)
    batches: list[int] = []
    target = tmp_path / "out" / "clip.mp4"
    result = stylize_video(clip, target, render_with(stylizer, batches), batch_size=5)
    assert batches == [5] * 7 + [1]  # 36 frames
    out = probe(target)
    assert (out.frames, out.fps, out.width, out.height) == (FPS * SECONDS, FPS, WIDTH, HEIGHT)
    assert out.has_audio and result.info.has_audio
    assert decoded(target)[1] == pytest.approx(decoded(clip)[1], abs=1e-3)
    with av.open(str(target)) as container:
        duration = float(container.duration / av.time_base)
    assert abs(duration - SECONDS) < 0.2
    assert not list((tmp_path / "out").glob(".*partial*"))  # the temporary file is gone


@pytest.mark.parametrize("stabilize", [False, True])
def test_batched_frames_equal_frame_by_frame(
    tmp_path: Path, stylizer: Stylizer, stabilize: bool
) -> None:
    """10 frames (not a multiple of 3), encoded losslessly (CRF 0) so that only rendering,
    stabilizing and order could make the outputs differ."""
    clip = tmp_path / "clip.mp4"
    make_clip(clip, frames=10)
    lossless = VideoEncoding(crf=0)
    outputs = {}
    for batch_size in (1, 3):
        target = tmp_path / f"batch{batch_size}.mp4"
        render = render_with(stylizer)
        stylize_video(clip, target, render, stabilize, batch_size=batch_size, encoding=lossless)
        outputs[batch_size] = decoded(target)
    (one, one_times), (three, three_times) = outputs[1], outputs[3]
    assert len(one) == len(three) == 10 and one_times == three_times
    diff = np.abs(np.stack(one).astype(int) - np.stack(three).astype(int))
    assert diff.max() <= 2 and diff.mean() < 0.05  # batch size changes float sums, no more
    source = decoded(clip)[0]
    assert np.abs(np.stack(one).astype(int) - np.stack(source).astype(int)).mean() > 5  # styled


def test_a_failing_batch_is_reported_and_leaves_nothing(tmp_path: Path) -> None:
    """An error raised while rendering on the worker thread reaches run_video_jobs as it did
    from the main thread: the file is reported, no partial output stays, no thread lingers."""
    clip = tmp_path / "clip.mp4"
    make_clip(clip, frames=8)
    calls = []

    def render(frames: list[np.ndarray]) -> list[np.ndarray]:
        calls.append(len(frames))
        if len(calls) == 2:
            raise StyleforgeError("the model broke")
        return frames

    before = threading.active_count()
    report = RunReport()
    out = tmp_path / "out"
    assert run_video_jobs([Job(clip, out / "clip.mp4")], render, False, report, 3) == []
    assert report.failed == [(clip, "the model broke")] and not report.done
    assert not any(out.iterdir()) and threading.active_count() == before


def test_stabilize_reduces_frame_to_frame_change(tmp_path: Path, stylizer: Stylizer) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip)
    render = render_with(stylizer)
    plain = stylize_video(clip, tmp_path / "plain.mp4", render, batch_size=4)
    steady = stylize_video(clip, tmp_path / "steady.mp4", render, stabilize=True, batch_size=4)
    assert steady.change_ratio < plain.change_ratio


@pytest.fixture
def model(tmp_path: Path, stylizer: Stylizer) -> Path:
    path = tmp_path / "model.safetensors"
    save_model(path, stylizer.net, stylizer.config, {"step": 0})
    return path


def test_cli_stylizes_a_video(tmp_path: Path, model: Path) -> None:
    make_clip(tmp_path / "clip.mp4")
    args = ["stylize", str(model), str(tmp_path / "clip.mp4"), "-o", str(tmp_path / "out")]
    assert main([*args, "--stabilize", "--threads", "1", "--batch-size", "3"]) == 0
    assert probe(tmp_path / "out" / "clip.mp4").frames == FPS * SECONDS
    assert main(args) == 1  # exists: not overwritten without --overwrite


def test_cli_crf_and_codec_reach_the_encoder(tmp_path: Path, model: Path) -> None:
    make_clip(tmp_path / "clip.mp4", frames=12)
    outputs = {}
    for name, options in [
        ("default", []),
        ("crf40", ["--crf", "40"]),
        ("hevc", ["--codec", "hevc"]),
    ]:
        argv = ["stylize", str(model), str(tmp_path / "clip.mp4"), "-o", str(tmp_path / name)]
        assert main([*argv, "--threads", "1", *options]) == 0
        outputs[name] = tmp_path / name / "clip.mp4"
    assert outputs["crf40"].stat().st_size < outputs["default"].stat().st_size
    codecs = {}
    for name, path in outputs.items():
        with av.open(str(path)) as container:
            codecs[name] = container.streams.video[0].codec_context.name
    assert codecs == {"default": "h264", "crf40": "h264", "hevc": "hevc"}
    assert probe(outputs["hevc"]).frames == 12


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (["--crf", "52"], "--crf 52: libx264 takes 0..51"),
        (["--crf", "-1", "--codec", "vp9"], "--crf -1: libvpx-vp9 takes 0..63"),
        (["--crf", "20", "--codec", "mpeg4"], "--crf: mpeg4 takes no CRF"),
        (["--codec", "nope"], "--codec nope: no such video encoder"),
        (["--codec", "aac"], "--codec aac: no such video encoder"),
        (["--codec", "gif"], "--codec gif cannot write .mp4"),
    ],
)
def test_cli_bad_crf_or_codec_is_one_line_before_any_work(
    tmp_path: Path, model: Path, options: list[str], needle: str, capsys
) -> None:
    make_clip(tmp_path / "clip.mp4", frames=2)
    argv = ["stylize", str(model), str(tmp_path / "clip.mp4"), "-o", str(tmp_path / "out")]
    assert main([*argv, *options]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
