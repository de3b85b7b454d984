"""The page in Debian's Chromium (Playwright): upload, progress, result, download, phone width;
a server with a token: the page asks for it once, and the access log never shows it."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import test_server
import uvicorn
from fastapi import FastAPI
from PIL import Image
from test_server_auth import TOKEN

from conftest import real_photo
from styleforge.server.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed"),
    pytest.mark.slow,  # a real server and browser: not in `make test-fast`
]
models_root = test_server.models_root  # the same tiny trained two-style model


class Lines(logging.Handler):
    """Keeps the message of every record it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """A real uvicorn server for `app` on a free loopback port, in a thread; yields its URL.

    Its loggers are left as they are (no uvicorn logging config): the tests choose."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, log_level=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def server_url(models_root: Path) -> Iterator[str]:
    """A server without a token."""
    with running(create_app(models_root, device="cpu")) as url:
        yield url


@pytest.fixture(scope="module")
def token_server(models_root: Path) -> Iterator[tuple[str, list[str]]]:
    """A server started with TOKEN, and the lines of its access log as uvicorn writes them."""
    access = logging.getLogger("uvicorn.access")
    lines, level = Lines(), access.level
    access.addHandler(lines)
    access.setLevel(logging.INFO)
    try:
        with running(create_app(models_root, device="cpu", token=TOKEN)) as url:
            yield url, lines.lines
    finally:
        access.removeHandler(lines)
        access.setLevel(level)


@contextmanager
def open_page(url: str):
    """A phone-sized page at `url` with every console error, page error and failed request
    recorded in its `problems`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport=PHONE)
        tab.problems = []
        tab.on("console", lambda m: tab.problems.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda exc: tab.problems.append(str(exc)))
        tab.on("requestfailed", lambda req: tab.problems.append(f"failed: {req.url}"))
        tab.goto(url)
        yield tab
        browser.close()


def wait_for_models(page) -> None:
    """Until the page lists both models (the server answered /api/models)."""
    page.locator("#model option").nth(1).wait_for(state="attached")


@pytest.fixture
def page(server_url: str):
    """The page of the server without a token, its models listed."""
    with open_page(server_url) as tab:
        wait_for_models(tab)
        yield tab


def stylize_on_page(page, photo: Path, variants: int) -> list[list[int]]:
    """Ask for `variants` toon/paint results of `photo`; the results' sizes once all are done."""
    page.select_option("#model", "toon")
    page.select_option("#style", "paint")
    page.fill("#variants", str(variants))
    page.set_input_files("#photos", str(photo))
    page.click("#go")
    page.locator("#status", has_text=re.compile(r"\d+ done")).wait_for(timeout=60_000)
    assert page.text_content("#status") == f"{variants} done.", page.text_content(".result")
    return page.eval_on_selector_all(
        ".result img", "imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])"
    )


def test_page_stylizes_an_upload_at_phone_width(page, tmp_path: Path) -> None:
    photo = real_photo("chelsea", 120)
    photo.save(tmp_path / "cat.png")
    sizes = stylize_on_page(page, tmp_path / "cat.png", 2)
    links = page.eval_on_selector_all(".download", "as => as.map(a => [a.href, a.download])")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert sizes == [list(photo.size)] * 2
    assert [name for _, name in links] == ["cat-paint-0.png", "cat-paint-1.png"]
    assert all(href.startswith("blob:") for href, _ in links)
    assert overflow <= 0  # nothing wider than a phone's screen
    assert Image.open(tmp_path / "page.png").width == PHONE["width"]
    assert page.problems == []


def test_page_shows_the_servers_message_for_a_bad_file(page, tmp_path: Path) -> None:
    (tmp_path / "fake.png").write_bytes(b"not really a picture")
    page.set_input_files("#photos", str(tmp_path / "fake.png"))
    page.click("#go")
    page.locator("#status", has_text="1 failed").wait_for(timeout=30_000)
    assert "not a PNG, JPEG" in page.text_content(".result.failed .state")
    # Chromium logs every 4xx response as a console error; nothing else may appear
    assert [p for p in page.problems if "status of 415" not in p] == []


def test_page_asks_for_the_token_once_and_the_log_never_shows_it(
    token_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, access_log = token_server
    photo = real_photo("rocket", 64)
    photo.save(tmp_path / "rocket.png")
    with open_page(url) as page:
        page.locator("#token-form").wait_for()  # /api/models answered 401
        page.fill("#token", "not-the-token")
        page.click("#token-form button")
        page.locator("#token-message", has_text="not accepted").wait_for()
        page.fill("#token", f" {TOKEN} ")
        page.click("#token-form button")
        wait_for_models(page)
        assert page.is_hidden("#token-form")
        assert stylize_on_page(page, tmp_path / "rocket.png", 1) == [list(photo.size)]
        page.reload()  # the tab keeps the token: not asked again
        wait_for_models(page)
        assert page.is_hidden("#token-form")
        # Chromium logs every 4xx response as a console error; nothing else may appear
        assert [p for p in page.problems if "status of 401" not in p] == []
    assert any('"POST /api/stylize HTTP/1.1" 200' in line for line in access_log), access_log
    assert not any(TOKEN in line for line in access_log)
