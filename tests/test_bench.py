"""The `bench` command (cli/bench.py) on a tiny size, inside the test suite: `--json` rows of
the inference, 4K photo and training benchmarks, bad lists refused (the MAC counts:
test_macs)."""

from __future__ import annotations

import json

import pytest

from conftest import preset
from styleforge.bench import photo_4k
from styleforge.bench.macs import generator_macs
from styleforge.cli import main


@pytest.mark.slow
def test_bench_json_tiny(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "--json", "--sizes", "32", "--presets", "lite", "--backends", "fp32,onnx"]
    assert main([*argv, "--repeats", "2", "--threads", "1", "--device", "cpu"]) == 0  # onnx: CPU
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "inference" and report["machine"]["threads"] == 1
    rows = {(r["preset"], r["backend"]): r for r in report["rows"]}
    assert set(rows) == {("lite", "fp32"), ("lite", "onnx")}  # the reference is measured, not shown
    for row in rows.values():
        assert row["size"] == 32 and row["median_ms"] > 0 and row["peak_rss_mib"] > 0
        assert row["vs_resnet9_fp32"] > 1  # lite is faster than ResNet-9 at the same size
        assert row["gmacs"] == pytest.approx(generator_macs(preset("lite"), 32, 32) / 1e9)


def test_bench_train_json_tiny(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "--train", "--json", "--presets", "lite", "--content-losses", "nce"]
    argv += ["--crop-size", "32", "--batch-size", "1", "--repeats", "1", "--device", "cpu"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["machine"]["device"] == "cpu"  # what the rows were measured on
    row = report["rows"][0]
    assert row["preset"] == "lite" and row["content_loss"] == "nce"
    assert row["iterations_per_s"] > 0 and row["peak_rss_mib"] > 0


def test_bench_rejects_bad_lists(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--sizes", "big"]) == 1
    assert capsys.readouterr().err.startswith("error:")
    assert main(["bench", "--backends", "gpu", "--sizes", "32", "--presets", "lite"]) == 1
    assert main(["bench", "--backends", "gpu", "--sizes", "4k", "--presets", "lite"]) == 1
    assert main(["bench", "--video", "--sizes", "4k"]) == 1


def test_bench_video_tiny(capsys: pytest.CaptureFixture[str]) -> None:
    """Two tiny 16:9 sizes, 5 frames in batches of 2: a row per size with the generator's time
    and the floor, and one more with --stabilize at the first size; the table shows them."""
    argv = ["bench", "--video", "--sizes", "32,48", "--frames", "5", "--batch-size", "2"]
    assert main([*argv, "--json", "--repeats", "1", "--threads", "1", "--device", "cpu"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "video"
    rows = [(r["frame"], r["stabilize"]) for r in report["rows"]]
    assert rows == [("56x32", False), ("56x32", True), ("86x48", False)]
    for row in report["rows"]:
        assert row["preset"] == "lite" and row["frames"] == 5 and row["batch_size"] == 2
        assert row["ms_per_frame"] > 0 and row["fps"] == pytest.approx(1e3 / row["ms_per_frame"])
        assert row["generator_ms_per_frame"] > 0 and row["floor_ms_per_frame"] > 0
        ratio = row["ms_per_frame"] / row["generator_ms_per_frame"]
        assert row["vs_generator"] == pytest.approx(ratio) and row["peak_rss_mib"] > 0
    assert main(["bench", "--video", "--sizes", "32", "--frames", "2", "--repeats", "1"]) == 0
    table = capsys.readouterr().out
    assert "| floor ms/frame |" in table and "| video ÷ G |" in table and "56x32" in table


def test_bench_modes_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["bench", "--video", "--train"])
    assert info.value.code == 2 and capsys.readouterr().err.startswith("error:")


def test_bench_4k_rows_on_a_small_photo(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--sizes 4k`'s rows, with the photo and tile made small so that it runs in a second."""
    monkeypatch.setattr(photo_4k, "HEIGHT", 96)
    monkeypatch.setattr(photo_4k, "WIDTH", 160)
    modes = {
        name: {**options, "tile": 64} if options else {} for name, options in photo_4k.MODES.items()
    }
    monkeypatch.setattr(photo_4k, "MODES", modes)
    argv = ["bench", "--json", "--sizes", "4k", "--presets", "lite", "--backends", "fp32,onnx"]
    assert main([*argv, "--repeats", "1", "--threads", "1", "--device", "cpu"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["backend"], r["mode"]) for r in rows] == [("fp32", mode) for mode in modes]
    for row in rows:  # onnx left out: tiles need the PyTorch network
        assert row["image"] == "160×96" and row["median_ms"] > 0 and row["peak_rss_mib"] > 0
    assert rows[0]["vs_untiled"] == 1.0
