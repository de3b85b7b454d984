"""Video: a generated 3-second clip with audio round-trips with its frame count, rate and size."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from conftest import real_photo, untrained_stylizer
from styleforge.inference.stylizer import Stylizer
from styleforge.inference.video import probe, stylize_video

FPS, SECONDS, WIDTH, HEIGHT = 12, 3, 96, 64


def make_clip(path: Path) -> None:
    """A real photo panned across (3 s, 12 fps, 96x64, H.264) with a 440 Hz AAC tone."""
    photo = np.asarray(real_photo("astronaut", 160))
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = out.add_stream("aac", rate=16000)
        audio.layout = "mono"
        for i in range(FPS * SECONDS):
            crop = photo[20 + i // 3 : 20 + i // 3 + HEIGHT, 10 + i : 10 + i + WIDTH]
            noisy = np.clip(crop + rng.normal(0, 3, crop.shape), 0, 255).astype(np.uint8)
            out.mux(video.encode(av.VideoFrame.from_ndarray(noisy, format="rgb24")))
        out.mux(video.encode(None))
        t = np.arange(16000 * SECONDS) / 16000
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], "fltp", "mono")
            frame.sample_rate, frame.pts = 16000, start
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))


@pytest.fixture
def stylizer() -> Stylizer:
    return untrained_stylizer(3)


def render_with(stylizer: Stylizer):
    code = stylizer.style_code(seed=0)  # one code for every frame: fixed noise
    return lambda rgb: np.asarray(stylizer.stylize_pil([Image.fromarray(rgb)], code)[0])


def test_round_trip_keeps_frames_rate_size_audio(tmp_path: Path, stylizer: Stylizer) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip)
    source = probe(clip)
    assert source.frames == FPS * SECONDS and source.fps == Fraction(FPS)
    result = stylize_video(clip, tmp_path / "out" / "clip.mp4", render_with(stylizer))
    out = probe(tmp_path / "out" / "clip.mp4")
    assert (out.frames, out.fps, out.width, out.height) == (FPS * SECONDS, FPS, WIDTH, HEIGHT)
    assert out.has_audio and result.info.has_audio
    with av.open(str(tmp_path / "out" / "clip.mp4")) as container:
        duration = float(container.duration / av.time_base)
    assert abs(duration - SECONDS) < 0.2
    assert not list((tmp_path / "out").glob(".*partial*"))  # the temporary file is gone


def test_stabilize_reduces_frame_to_frame_change(tmp_path: Path, stylizer: Stylizer) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip)
    render = render_with(stylizer)
    plain = stylize_video(clip, tmp_path / "plain.mp4", render)
    steady = stylize_video(clip, tmp_path / "steady.mp4", render, stabilize=True)
    assert steady.change_ratio < plain.change_ratio


def test_cli_stylizes_a_video(tmp_path: Path, stylizer: Stylizer) -> None:
    from styleforge.cli import main
    from styleforge.modelfile import save_model

    model = tmp_path / "model.safetensors"
    save_model(model, stylizer.net, stylizer.config, {"step": 0})
    make_clip(tmp_path / "clip.mp4")
    args = ["stylize", str(model), str(tmp_path / "clip.mp4"), "-o", str(tmp_path / "out")]
    assert main([*args, "--stabilize", "--threads", "1"]) == 0
    assert probe(tmp_path / "out" / "clip.mp4").frames == FPS * SECONDS
    assert main(args) == 1  # exists: not overwritten without --overwrite
