"""Property/fuzz tests (hypothesis, a bounded number of cases): the image decoder and the model
file reader either succeed or raise their one clear error, whatever the bytes."""

from __future__ import annotations

import io
import json
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import real_photo
from styleforge.data.images import decode_rgb
from styleforge.errors import ImageLoadError, ModelFileError
from styleforge.modelfile import MODEL_FORMAT, read_file, read_metadata

FUZZ = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def _encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    real_photo("coffee", 24).save(buffer, format=fmt)
    return buffer.getvalue()


SEEDS = {fmt: _encoded(fmt) for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")}


def _check_decoded(data: bytes) -> None:
    try:
        img = decode_rgb(data, "fuzz", max_pixels=4_000_000)
    except ImageLoadError as exc:
        assert "\n" not in str(exc) and exc.reason
        return
    assert img.mode == "RGB" and img.width * img.height <= 4_000_000


@FUZZ
@given(st.binary(max_size=2048))
def test_decoder_on_random_bytes(data: bytes) -> None:
    _check_decoded(data)


@FUZZ
@given(
    st.sampled_from(sorted(SEEDS)),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
    st.integers(0, 10**6),
)
def test_decoder_on_mutated_images(fmt: str, flips: list, cut: int) -> None:
    data = bytearray(SEEDS[fmt])
    for pos, value in flips:
        data[pos % len(data)] = value
    _check_decoded(bytes(data[: max(1, len(data) - cut % len(data))]))


def _header(meta: object, tensors: dict) -> bytes:
    header = json.dumps({"__metadata__": meta, **tensors}).encode()
    return struct.pack("<Q", len(header)) + header


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def scratch() -> Path:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


def _check_read(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    for reader in (
        lambda: read_file(path, MODEL_FORMAT),
        lambda: read_metadata(path, MODEL_FORMAT),
    ):
        try:
            reader()
        except ModelFileError as exc:
            assert "\n" not in str(exc)


@FUZZ
@given(st.binary(max_size=512))
def test_model_reader_on_random_bytes(scratch: Path, data: bytes) -> None:
    _check_read(scratch / "random.safetensors", data)


@FUZZ
@given(
    st.dictionaries(st.text(max_size=12), json_values, max_size=4) | json_values,
    st.dictionaries(st.text(max_size=6), json_values, max_size=3),
    st.integers(0, 2**64 - 1) | st.none(),
    st.binary(max_size=64),
)
def test_model_reader_on_odd_headers(scratch: Path, meta, tensors, length, tail: bytes) -> None:
    if isinstance(meta, dict):
        meta = {"format": MODEL_FORMAT, "format_version": "1", **meta}
    data = _header(meta, tensors) + tail
    if length is not None:
        data = struct.pack("<Q", length) + data[8:]
    _check_read(scratch / "odd.safetensors", data)
