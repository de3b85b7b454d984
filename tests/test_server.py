"""The HTTP API against a real tiny trained model: results, limits and JSON errors."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import real_photo, tiny_config
from styleforge.cli import main
from styleforge.data.images import decode_rgb
from styleforge.errors import ImageTooLargeError, NotAnImageError
from styleforge.inference.stylizer import Stylizer
from styleforge.server.app import create_app
from styleforge.server.limits import Limits, ServerBusyError, WorkerPool
from styleforge.server.models import ModelRegistry
from styleforge.training.trainer import Trainer

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2")  # Starlette 1.x prefers httpx2
    from fastapi.testclient import TestClient

STYLES = ("ink", "paint")


@pytest.fixture(scope="module")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """runs/toon (two styles, trained a few steps) and runs/team/copy (the same file)."""
    root = tmp_path_factory.mktemp("server")
    content = root / "data" / "content"
    content.mkdir(parents=True)
    for name in ("astronaut", "rocket"):
        real_photo(name, 48).save(content / f"{name}.png")
    for style, name in zip(STYLES, ("coffee", "chelsea"), strict=True):
        (root / "data" / "styles" / style).mkdir(parents=True)
        real_photo(name, 48).save(root / "data" / "styles" / style / f"{name}.png")
    runs = root / "runs"
    config = tiny_config(content, root / "data" / "styles", steps=3)
    Trainer(config, runs / "toon").run()
    (runs / "team" / "copy").mkdir(parents=True)
    shutil.copy(runs / "toon" / "model.safetensors", runs / "team" / "copy")
    return runs


@pytest.fixture(scope="module")
def client(models_root: Path):
    limits = Limits(max_upload_bytes=200_000, max_pixels=300_000, max_variants=3)
    with TestClient(create_app(models_root, limits, device="cpu")) as test_client:
        yield test_client


def png_bytes(img: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def post(client: TestClient, data: bytes, name: str = "photo.png", **fields):
    fields.setdefault("model", "toon")
    return client.post("/api/stylize", files={"image": (name, data, "image/png")}, data=fields)


def assert_json_error(response, status: int, code: str, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == status and body["error"] == code
    assert words in body["message"], body["message"]


def test_health_and_model_listing(client: TestClient) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["device"] == "cpu"
    body = client.get("/api/models").json()
    assert [m["name"] for m in body["models"]] == ["team/copy", "toon"]
    assert all(m["styles"] == list(STYLES) for m in body["models"])
    assert body["limits"]["max_variants"] == 3
    assert "/" not in str(body["models"]).replace("team/copy", "")  # no file system paths


def test_page_and_openapi_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Content-Security-Policy" in page.headers
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/stylize", "/api/models", "/healthz"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_png_result_is_what_the_cli_stylizer_gives(client: TestClient, models_root: Path) -> None:
    photo = real_photo("astronaut", 53)  # odd sizes: padded and cropped back
    response = post(client, png_bytes(photo), style="paint", seed=5)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.headers["x-styleforge-style"] == "paint"
    result = Image.open(io.BytesIO(response.content))
    assert result.size == photo.size
    expected = Stylizer.load(models_root / "toon" / "model.safetensors", "cpu")(
        photo, style="paint", seed=5
    )
    assert np.array_equal(np.asarray(result), np.asarray(expected))


def test_jpeg_upload_with_exif_rotation_and_jpeg_output(client: TestClient) -> None:
    photo = real_photo("chelsea", 40)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown rotated by 90 degrees
    data = png_bytes(photo, "JPEG", quality=90, exif=exif)
    response = post(client, data, name="cat.jpg", format="jpeg")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).size == (photo.height, photo.width)


def test_strength_blends_and_variants_make_a_grid(client: TestClient) -> None:
    photo = real_photo("rocket", 32)
    data = png_bytes(photo)

    def result(**fields) -> np.ndarray:
        response = post(client, data, **fields)
        assert response.status_code == 200, response.text
        return np.asarray(Image.open(io.BytesIO(response.content)), dtype=np.float64)

    full, half, none = (result(strength=s) for s in (1.0, 0.5, 0.0))
    assert np.array_equal(none, np.asarray(photo, dtype=np.float64))
    assert np.abs(half - (full + none) / 2).max() <= 1.0
    grid = result(variants=2, seed=3)
    assert grid.shape[:2] == (photo.height, 2 * photo.width)
    assert not np.array_equal(grid[:, : photo.width], grid[:, photo.width :])


def test_type_is_read_from_the_content_not_the_name(client: TestClient) -> None:
    data = png_bytes(real_photo("coffee", 24))
    response = client.post(
        "/api/stylize", files={"image": ("notes.txt", data, "text/plain")}, data={"model": "toon"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("fields", "data", "status", "code", "words"),
    [
        ({}, b"hello, this is text", 415, "unsupported_type", "not a PNG, JPEG"),
        ({}, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", 415, "unsupported_type", "read from its content"),
        ({}, "truncated", 400, "bad_image", "corrupt or truncated"),
        ({}, b"", 400, "bad_image", "empty"),
        ({}, "big", 413, "too_large", "larger than the server's limit"),
        ({}, "many_pixels", 413, "too_many_pixels", "too many pixels"),
        ({"variants": 3}, "medium", 413, "too_many_pixels", "fewer variants"),
        ({"model": "nope"}, "ok", 404, "unknown_model", "available: team/copy, toon"),
        ({"model": "../toon"}, "ok", 404, "unknown_model", "unknown model '../toon'"),
        ({"style": "cubism"}, "ok", 422, "unknown_style", "it has: ink, paint"),
        ({"seed": "abc"}, "ok", 422, "invalid_request", "seed"),
        ({"strength": 1.5}, "ok", 422, "invalid_request", "strength"),
        ({"variants": 4}, "ok", 422, "invalid_request", "at most 3"),
        ({"format": "gif"}, "ok", 422, "invalid_request", "format"),
    ],
)
def test_bad_requests_get_json_errors_and_the_server_keeps_serving(
    client: TestClient, fields: dict, data: bytes | str, status: int, code: str, words: str
) -> None:
    photo = real_photo("astronaut", 32)
    payloads = {
        "ok": lambda: png_bytes(photo),
        "truncated": lambda: png_bytes(photo)[:200],
        "big": lambda: np.random.default_rng(0).bytes(300_000),
        "many_pixels": lambda: png_bytes(Image.new("RGB", (1000, 400))),
        "medium": lambda: png_bytes(Image.new("RGB", (400, 300))),
    }
    payload = payloads[data]() if isinstance(data, str) else data
    assert_json_error(post(client, payload, **fields), status, code, words)
    assert post(client, png_bytes(photo)).status_code == 200


def test_other_errors_are_json_too(client: TestClient) -> None:
    assert_json_error(client.get("/nowhere"), 404, "not_found", "no such endpoint")
    assert_json_error(client.get("/static/../../etc/passwd"), 404, "not_found", "no such")
    assert_json_error(client.get("/api/stylize"), 405, "method_not_allowed", "not allowed")
    missing = client.post("/api/stylize", data={"model": "toon"})
    assert_json_error(missing, 422, "invalid_request", "image: Field required")
    with_ref = client.post(
        "/api/stylize",
        files={"image": ("a.png", png_bytes(real_photo("astronaut", 24))),
               "reference": ("b.png", png_bytes(real_photo("coffee", 24)))},
        data={"model": "toon", "variants": 2},
    )  # fmt: skip
    assert_json_error(with_ref, 422, "invalid_request", "reference image gives one result")


def test_a_bug_gives_a_json_500_and_no_details(models_root: Path, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("styleforge.server.app.render", broken)
    app = create_app(models_root, device="cpu")
    with TestClient(app, raise_server_exceptions=False) as client:
        response = post(client, png_bytes(real_photo("coffee", 24)))
        assert_json_error(response, 500, "internal_error", "the server failed")
        assert "secret" not in response.text
        assert client.get("/healthz").status_code == 200


def test_chunked_upload_over_the_limit_is_refused(client: TestClient) -> None:
    def chunks():
        for _ in range(10):
            yield b"x" * 50_000

    response = client.post(
        "/api/stylize",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=zzz"},
    )
    assert_json_error(response, 413, "too_large", "larger than")


def test_reference_image_sets_the_style(client: TestClient) -> None:
    files = {
        "image": ("a.png", png_bytes(real_photo("astronaut", 24))),
        "reference": ("b.png", png_bytes(real_photo("coffee", 24))),
    }
    response = client.post("/api/stylize", files=files, data={"model": "toon"})
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == real_photo("astronaut", 24).size


def test_full_queue_answers_503_then_recovers(models_root: Path) -> None:
    app = create_app(models_root, Limits(workers=1, queue=0), device="cpu")
    release = threading.Event()
    with TestClient(app) as client:
        pool = app.state.styleforge.pool
        blocker = threading.Thread(
            target=asyncio.run, args=(pool.run(lambda _: release.wait(), 30),)
        )
        blocker.start()
        try:
            while pool.admitted == 0:
                release.wait(0.01)
            busy = post(client, png_bytes(real_photo("coffee", 24)))
            assert_json_error(busy, 503, "busy", "queue is full")
            assert busy.headers["retry-after"]
        finally:
            release.set()
            blocker.join()
        assert post(client, png_bytes(real_photo("coffee", 24))).status_code == 200


def test_time_limit_answers_504(models_root: Path) -> None:
    app = create_app(models_root, Limits(timeout_s=1e-4), device="cpu")
    with TestClient(app) as client:
        response = post(client, png_bytes(real_photo("astronaut", 64)))
        assert_json_error(response, 504, "timeout", "longer than")


def test_worker_pool_bounds_admission() -> None:
    pool = WorkerPool(workers=1, queue=1)
    gate = threading.Event()

    async def scenario() -> list:
        first = asyncio.ensure_future(pool.run(lambda _: gate.wait(5), 10))
        second = asyncio.ensure_future(pool.run(lambda _: "queued ran", 10))
        await asyncio.sleep(0.05)
        with pytest.raises(ServerBusyError):
            await pool.run(lambda _: "refused", 10)
        gate.set()
        return await asyncio.gather(first, second)

    assert asyncio.run(scenario()) == [True, "queued ran"]
    assert pool.admitted == 0
    pool.shutdown()


def test_registry_lists_without_loading_and_keeps_a_bounded_cache(models_root: Path) -> None:
    registry = ModelRegistry(models_root, "cpu", cache_size=1)
    assert [e.name for e in registry.refresh()] == ["team/copy", "toon"]
    assert registry.cached_names() == []
    toon = registry.load(registry.entry("toon"))
    assert registry.load(registry.entry("toon")) is toon
    registry.load(registry.entry("team/copy"))
    assert registry.cached_names() == ["team/copy"]


def test_registry_picks_up_new_models_and_skips_broken_files(
    tmp_path: Path, models_root: Path
) -> None:
    registry = ModelRegistry(tmp_path, "cpu", rescan_s=0)
    assert registry.refresh() == []
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.safetensors").write_bytes(b"not a model")
    (tmp_path / "new").mkdir()
    shutil.copy(models_root / "toon" / "model.safetensors", tmp_path / "new")
    assert registry.entry("new").styles == STYLES  # a miss rescans
    assert [e.name for e in registry.known()] == ["new"]
    first = registry.load(registry.entry("new"))
    shutil.copy(models_root / "toon" / "model.safetensors", tmp_path / "new")  # retrained
    os.utime(tmp_path / "new" / "model.safetensors", ns=(1, 1))
    assert registry.load(registry.entry("new")) is not first
    assert len(registry.cached_names()) == 1  # the stale copy is gone


def test_decode_rgb_checks_content_and_pixels() -> None:
    photo = real_photo("coffee", 30)
    assert decode_rgb(png_bytes(photo.convert("LA")), "x").mode == "RGB"
    with pytest.raises(NotAnImageError):
        decode_rgb(png_bytes(photo, "BMP"), "x", formats=["PNG", "JPEG"])
    with pytest.raises(ImageTooLargeError):
        decode_rgb(png_bytes(photo), "x", max_pixels=100)


def test_serve_command_reports_a_missing_folder(tmp_path: Path, capsys) -> None:
    assert main(["serve", "--models", str(tmp_path / "missing")]) == 1
    assert "error: --models folder" in capsys.readouterr().err


def test_serve_command_reports_a_bad_device_before_listening(tmp_path: Path, capsys) -> None:
    assert main(["serve", "--models", str(tmp_path), "--device", "tpu9"]) == 1
    err = capsys.readouterr().err
    assert "error: --device must be auto, cpu, cuda, cuda:N or mps, got 'tpu9'" in err
