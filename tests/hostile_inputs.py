"""The hostile and odd input corpus of issue 9, generated on the fly (nothing binary committed).

`image_corpus(folder)` writes every case into `folder` and returns {file name: expected}, where
expected is "ok" (decoded and processed) or a words fragment of the reason it is skipped with.
Folder-level cases (a symlink loop, a directory named like an image) are in the folder too and
are not in the mapping: commands must list past them silently. `model_corpus(folder, good)`
writes model files that are not usable styleforge models.
"""

from __future__ import annotations

import io
import json
import os
import struct
from pathlib import Path

from PIL import Image

from conftest import real_photo

OK = "ok"
ROOT = os.geteuid() == 0


def _bytes(img: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def image_cases() -> dict[str, tuple[bytes, str]]:
    """name -> (file content, expected outcome)."""
    photo = real_photo("astronaut", 48)
    png, jpg = _bytes(photo, "PNG"), _bytes(photo, "JPEG")
    palette = photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.info["transparency"] = 0
    rotated = photo.crop((0, 0, 48, 40))
    exif = rotated.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees
    frames = [photo, photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    sixteen = Image.frombytes(
        "I;16", (40, 40), bytes(b for v in range(1600) for b in struct.pack("<H", v * 40))
    )
    return {
        "empty.png": (b"", "empty file"),
        "truncated.png": (png[: len(png) // 2], "corrupt or truncated"),
        "truncated.jpg": (jpg[: len(jpg) // 3], "corrupt or truncated"),
        "text.png": (b"just some notes, not an image\n" * 4, "not an image"),
        "page.jpg": (b"<!doctype html><html><body>hi</body></html>", "not an image"),
        "bomb.png": (_bytes(Image.new("1", (20000, 20000)), "PNG", optimize=True), "too many"),
        "one pixel.png": (_bytes(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG"), OK),
        "strip.png": (_bytes(Image.new("RGB", (20000, 10), (10, 200, 10)), "PNG"), OK),
        "sixteen-bit.png": (_bytes(sixteen, "PNG"), OK),
        "palette-alpha.png": (_bytes(palette, "PNG"), OK),
        "cmyk.jpg": (_bytes(photo.convert("CMYK"), "JPEG"), OK),
        "gray-alpha.png": (_bytes(photo.convert("LA"), "PNG"), OK),
        "animated.gif": (gif.getvalue(), OK),
        "exif-rotated.jpg": (_bytes(rotated, "JPEG", exif=exif.tobytes()), OK),
        "naïve café – ünïcode.png": (png, OK),
        "locked.png": (png, OK if ROOT else "permission denied"),
    }


BOMB_PIXELS = 20000 * 20000  # above every default pixel guard (100 M files, 25 M server)


def image_corpus(folder: Path) -> dict[str, str]:
    """Write the corpus into `folder`; return {name: expected} for the image-named files."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, (payload, outcome) in image_cases().items():
        (folder / name).write_bytes(payload)
        expected[name] = outcome
    (folder / "locked.png").chmod(0)
    (folder / "folder.jpg").mkdir()  # a directory named like an image
    (folder / "folder.jpg" / "inner.txt").write_text("not an image")
    os.symlink(folder, folder / "loop")  # a symlink loop
    return expected


def model_corpus(folder: Path) -> dict[str, Path]:
    """Model files styleforge must refuse with one line: name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    files["huge_header"] = folder / "huge_header.safetensors"
    files["huge_header"].write_bytes(struct.pack("<Q", 2**63) + b"{}")
    header = json.dumps(
        {"__metadata__": {"format": "styleforge-model", "format_version": "1", "config": "{oops"}}
    ).encode()
    files["meta_not_json"] = folder / "meta_not_json.safetensors"
    files["meta_not_json"].write_bytes(struct.pack("<Q", len(header)) + header)
    import torch
    from safetensors.torch import save

    files["other_program"] = folder / "other_program.safetensors"
    files["other_program"].write_bytes(save({"w": torch.zeros(2)}, metadata={"by": "other"}))
    files["pickle"] = folder / "pickle.safetensors"
    files["pickle"].write_bytes(b"\x80\x04\x95" + b"\x00" * 64)  # a torch.save pickle's start
    return files
