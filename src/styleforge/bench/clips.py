"""Synthetic clips for the video benchmark: any frame size, made on the spot, nothing to fetch.

Every frame differs from the one before (a drifting colour gradient, a disc crossing it, a bar
sweeping down), so the decoder, the encoder and the stabilizer's optical flow all have real
motion to work on, as in a filmed clip.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from styleforge.extras import need
from styleforge.inference.video_encoding import VideoEncoding, add_video_stream


def frame_size(height: int) -> tuple[int, int]:
    """(width, height) of a 16:9 frame `height` pixels tall, width even: 480 -> 854x480."""
    return 2 * round(height * 8 / 9), height


def synthetic_frame(width: int, height: int, index: int) -> np.ndarray:
    """Frame `index` of the clip, uint8 (height, width, 3) RGB."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    shift = 4.0 * index
    red = 127 + 100 * np.sin((x + shift) / max(width, 1) * 2 * np.pi)
    green = 127 + 100 * np.cos((y - shift / 2) / max(height, 1) * 2 * np.pi)
    blue = np.full_like(x, 60 + (index * 3) % 120)
    frame = np.stack([red, green, blue], axis=-1)
    cx, cy = (0.2 + 0.6 * ((index / 90) % 1)) * width, 0.5 * height
    disc = (x - cx) ** 2 + (y - cy) ** 2 < (0.15 * height) ** 2
    frame[disc] = (240, 220, 40)
    bar = np.abs(y - (index * 5) % max(height, 1)) < max(2, height // 40)
    frame[bar] = (20, 20, 20)
    return frame.astype(np.uint8)


def synthetic_clip(path: Path, height: int, frames: int, fps: int = 30) -> Path:
    """Write a `frames`-frame 16:9 clip `height` pixels tall to `path` (encoded as stylize
    encodes by default for its suffix) and return the path."""
    av = need("av")
    width, height = frame_size(height)
    with av.open(str(path), "w") as out:
        stream = add_video_stream(out, path, VideoEncoding(), Fraction(fps), width, height)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(synthetic_frame(width, height, i), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
