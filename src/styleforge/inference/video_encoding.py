"""How stylized video is encoded: the codec (chosen by the output's suffix, or `--codec`), its
quality (`--crf`) and its threads.

`check_encoding` encodes a tiny clip with the same settings into each output type before any
frame is stylized, so an unknown codec, one the container cannot hold or a CRF out of range is
one error line up front rather than a failure per file after the work.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from styleforge.errors import StyleforgeError
from styleforge.extras import need

DEFAULT_CRF = 18
CRF_RANGES = {"libx264": (0, 51), "libx265": (0, 51), "libvpx-vp9": (0, 63)}
SUFFIX_CODECS = {".webm": "libvpx-vp9", ".avi": "mpeg4"}  # any other suffix: libx264
FAST_PRESET = {"libx264": "veryfast", "libx265": "veryfast"}  # x26x's default is slow


@dataclass(frozen=True)
class VideoEncoding:
    """`codec` None: by the output's suffix; `crf` None: DEFAULT_CRF where the codec takes one."""

    codec: str | None = None
    crf: int | None = None

    def codec_for(self, path: Path) -> str:
        return self.codec or SUFFIX_CODECS.get(path.suffix.lower(), "libx264")

    def options(self, codec: str) -> dict[str, str]:
        """The encoder's options: CRF (for VP9 with bitrate 0, so the CRF alone rules), speed."""
        options = {}
        if codec in CRF_RANGES:
            options["crf"] = str(DEFAULT_CRF if self.crf is None else self.crf)
        if codec == "libvpx-vp9":
            options["b:v"] = "0"
        if codec in FAST_PRESET:
            options["preset"] = FAST_PRESET[codec]
        if codec == "libx265":
            options["x265-params"] = "log-level=error"  # not its info lines on the terminal
        return options


def video_encoding(codec: str | None = None, crf: int | None = None) -> VideoEncoding:
    """The settings for `--codec` (any name ffmpeg knows for a video encoder, e.g. h264 or
    libx264) and `--crf`; an unknown codec is an error here."""
    if codec is None:
        return VideoEncoding(None, crf)
    av = need("av")
    try:
        encoder = av.codec.Codec(codec, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        encoder = None
    if encoder is None or encoder.type != "video":
        known = ", ".join(CRF_RANGES)
        raise StyleforgeError(f"--codec {codec}: no such video encoder here (try {known})")
    return VideoEncoding(encoder.name, crf)


def check_encoding(encoding: VideoEncoding, suffixes: set[str]) -> None:
    """Encode a tiny clip into each output type, as the real outputs will be; one error line
    for a CRF the codec does not take or a codec the container cannot hold."""
    av = need("av")
    for suffix in sorted(suffixes):
        codec = encoding.codec_for(Path(f"out{suffix}"))
        which = f"{codec} (for {suffix} files)" if encoding.codec is None else codec
        if encoding.crf is not None:
            if codec not in CRF_RANGES:
                takes = ", ".join(CRF_RANGES)
                raise StyleforgeError(f"--crf: {which} takes no CRF; {takes} do")
            low, high = CRF_RANGES[codec]
            if not low <= encoding.crf <= high:
                raise StyleforgeError(f"--crf {encoding.crf}: {codec} takes {low}..{high}")
        with tempfile.TemporaryDirectory() as tmp:
            try:
                _tiny_clip(Path(tmp) / f"check{suffix}", encoding)
            except (av.error.FFmpegError, ValueError) as exc:
                raise StyleforgeError(f"--codec {which} cannot write {suffix}: {exc}") from None


def add_video_stream(
    out: Any, path: Path, encoding: VideoEncoding, rate: Fraction, width: int, height: int
) -> Any:
    """The output container's video stream for `path`, set up to encode with threads."""
    av = need("av")
    codec = encoding.codec_for(path)
    stream = out.add_stream(codec, rate=rate)
    stream.width, stream.height = width, height
    stream.pix_fmt = _pixel_format(av.codec.Codec(codec, "w"), width, height)
    stream.codec_context.thread_type = "AUTO"  # frame threads too (libx264: not only slices)
    stream.options = encoding.options(stream.codec_context.name)
    return stream


def _pixel_format(encoder: Any, width: int, height: int) -> str:
    """4:2:0 where the size allows it (what players expect), else full-resolution colour."""
    formats = [f.name for f in encoder.video_formats or ()]
    if width % 2 == 0 and height % 2 == 0 and "yuv420p" in formats:
        return "yuv420p"
    return "yuv444p" if "yuv444p" in formats or not formats else formats[0]


def _tiny_clip(path: Path, encoding: VideoEncoding) -> None:
    av = need("av")
    with av.open(str(path), "w") as out:
        stream = add_video_stream(out, path, encoding, Fraction(25), 64, 48)
        for i in range(2):
            pixels = np.full((48, 64, 3), 60 * i, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        out.mux(stream.encode(None))
