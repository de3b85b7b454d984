"""The image loader: every mode to RGB, EXIF orientation, guards and clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import real_photo
from styleforge.data.images import LoadReport, iter_image_files, load_many, load_rgb, to_rgb
from styleforge.errors import ImageLoadError


@pytest.fixture
def photo() -> Image.Image:
    return real_photo("astronaut", 64)


def test_rgb_round_trip(tmp_path: Path, photo: Image.Image) -> None:
    photo.save(tmp_path / "a.png")
    out = load_rgb(tmp_path / "a.png")
    assert out.mode == "RGB" and np.array_equal(np.asarray(out), np.asarray(photo))


@pytest.mark.parametrize("mode", ["L", "1", "CMYK", "YCbCr"])
def test_plain_modes_become_rgb(tmp_path: Path, photo: Image.Image, mode: str) -> None:
    ext = "jpg" if mode in ("CMYK", "YCbCr") else "png"
    photo.convert(mode).save(tmp_path / f"x.{ext}")
    out = load_rgb(tmp_path / f"x.{ext}")
    assert out.mode == "RGB" and out.size == photo.size
    # content survives: correlation with the grayscale original stays high
    gray = np.asarray(photo.convert("L"), dtype=float).ravel()
    got = np.asarray(out.convert("L"), dtype=float).ravel()
    assert np.corrcoef(gray, got)[0, 1] > (0.5 if mode == "1" else 0.8)  # 1-bit is dithered


def test_alpha_is_composited_on_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))  # fully transparent red
    rgba.putpixel((0, 0), (0, 0, 255, 255))  # one opaque blue pixel
    rgba.save(tmp_path / "t.png")
    out = np.asarray(load_rgb(tmp_path / "t.png"))
    assert tuple(out[0, 0]) == (0, 0, 255)
    assert tuple(out[4, 4]) == (255, 255, 255)


def test_la_half_transparent(tmp_path: Path) -> None:
    Image.new("LA", (4, 4), (0, 128)).save(tmp_path / "la.png")
    out = np.asarray(load_rgb(tmp_path / "la.png"))
    assert 120 <= out[0, 0, 0] <= 135  # black at half alpha over white is mid gray


def test_palette_with_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (6, 6), 1)
    img.putpalette([0, 0, 0, 200, 10, 10] + [0, 0, 0] * 254)
    img.putpixel((0, 0), 0)
    img.info["transparency"] = 0
    img.save(tmp_path / "p.png", transparency=0)
    out = np.asarray(load_rgb(tmp_path / "p.png"))
    assert tuple(out[0, 0]) == (255, 255, 255)  # transparent index -> white
    assert tuple(out[3, 3]) == (200, 10, 10)


def test_sixteen_bit_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = (np.linspace(0, 65535, 64 * 8).reshape(8, 64)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    out = np.asarray(load_rgb(tmp_path / "deep.png"))
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == 255
    assert 100 < out[4, 32, 0] < 155  # the middle of the ramp is mid gray


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 255, 0), (0, 0, 10, 20))  # green strip on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    img.save(tmp_path / "rot.jpg", exif=exif.tobytes(), quality=95)
    out = load_rgb(tmp_path / "rot.jpg")
    assert out.size == (20, 40)
    arr = np.asarray(out)
    assert arr[2, 10, 1] > 200 and arr[2, 10, 0] < 60  # the green strip is now on top


def test_animated_gif_gives_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    out = np.asarray(load_rgb(tmp_path / "anim.gif"))
    assert out[0, 0, 0] > 200 and out[0, 0, 2] < 60


def test_to_rgb_float_mode() -> None:
    img = Image.fromarray(np.linspace(0, 2, 16, dtype=np.float32).reshape(4, 4), mode="F")
    out = np.asarray(to_rgb(img))
    assert out.min() == 0 and out.max() == 255


@pytest.mark.parametrize(
    ("name", "payload", "reason"),
    [
        ("empty.png", b"", "empty file"),
        ("notes.jpg", b"just some text, not an image\n", "not an image"),
        ("page.jpg", b"<html><body>hello</body></html>", "not an image"),
    ],
)
def test_unusable_files_raise_with_reason(tmp_path: Path, name: str, payload: bytes, reason: str):
    (tmp_path / name).write_bytes(payload)
    with pytest.raises(ImageLoadError) as info:
        load_rgb(tmp_path / name)
    assert reason in str(info.value) and name in str(info.value)


def test_truncated_files_raise(tmp_path: Path, photo: Image.Image) -> None:
    for ext in ("png", "jpg"):
        photo.save(tmp_path / f"full.{ext}")
        data = (tmp_path / f"full.{ext}").read_bytes()
        (tmp_path / f"cut.{ext}").write_bytes(data[: len(data) // 2])
        with pytest.raises(ImageLoadError, match="corrupt or truncated"):
            load_rgb(tmp_path / f"cut.{ext}")


def test_pixel_guard_stops_bombs_before_decoding(tmp_path: Path) -> None:
    Image.new("L", (5000, 5000)).save(tmp_path / "bomb.png", optimize=True)
    assert (tmp_path / "bomb.png").stat().st_size < 100_000
    with pytest.raises(ImageLoadError, match="too many pixels"):
        load_rgb(tmp_path / "bomb.png", max_pixels=1_000_000)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="no such file"):
        load_rgb(tmp_path / "nope.png")
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(ImageLoadError, match="directory"):
        load_rgb(tmp_path / "folder.png")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without permission")
def test_unreadable_file(tmp_path: Path, photo: Image.Image) -> None:
    photo.save(tmp_path / "locked.png")
    (tmp_path / "locked.png").chmod(0)
    with pytest.raises(ImageLoadError, match="permission denied"):
        load_rgb(tmp_path / "locked.png")


def test_folder_listing_skips_dirs_and_symlink_loops(tmp_path: Path, photo: Image.Image) -> None:
    (tmp_path / "sub").mkdir()
    photo.save(tmp_path / "sub" / "b é.png")
    photo.save(tmp_path / "a.jpg")
    (tmp_path / "dir.png").mkdir()
    (tmp_path / "readme.txt").write_text("hi")
    os.symlink(tmp_path, tmp_path / "sub" / "loop")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_image_files(tmp_path)]
    assert found == ["a.jpg", "sub/b é.png"]
    assert [p.name for p in iter_image_files(tmp_path, recursive=False)] == ["a.jpg"]


def test_load_many_reports_and_continues(tmp_path: Path, photo: Image.Image) -> None:
    photo.save(tmp_path / "good.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG garbage")
    report = LoadReport()
    for _, _img, error in load_many([tmp_path / "bad.png", tmp_path / "good.png"]):
        if error:
            report.failures.append(error)
        else:
            report.loaded += 1
    assert report.loaded == 1 and len(report.failures) == 1
    assert report.summary() == "1 images loaded, 1 skipped"
