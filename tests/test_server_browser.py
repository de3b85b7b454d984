"""The page in Debian's Chromium (Playwright): upload, progress, result, download, phone width."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import test_server
import uvicorn
from PIL import Image

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


@pytest.fixture(scope="module")
def server_url(models_root: Path) -> Iterator[str]:
    """A real uvicorn server on a free loopback port, in a thread."""
    config = uvicorn.Config(
        create_app(models_root, device="cpu"), host="127.0.0.1", port=0, log_level="warning"
    )
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


@pytest.fixture
def page(server_url: str):
    """A phone-sized page with every console error, page error and failed request recorded."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport=PHONE)
        tab.problems = []
        tab.on("console", lambda m: tab.problems.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda exc: tab.problems.append(str(exc)))
        tab.on("requestfailed", lambda req: tab.problems.append(f"failed: {req.url}"))
        tab.goto(server_url)
        tab.locator("#model option").nth(1).wait_for(state="attached")  # both models listed
        yield tab
        browser.close()


def test_page_stylizes_an_upload_at_phone_width(page, tmp_path: Path) -> None:
    photo = real_photo("chelsea", 120)
    photo.save(tmp_path / "cat.png")
    page.select_option("#model", "toon")
    page.select_option("#style", "paint")
    page.fill("#variants", "2")
    page.set_input_files("#photos", str(tmp_path / "cat.png"))
    page.click("#go")
    page.locator("#status", has_text="2 done.").wait_for(timeout=60_000)
    sizes = page.eval_on_selector_all(
        ".result img", "imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])"
    )
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
