"""The evaluation report: renders in a headless browser, every image loaded, no console errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian chromium not installed (.ci/run installs it)"
)
@pytest.mark.slow
def test_report_renders_in_headless_chromium_without_console_errors(evaluated: Path) -> None:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        # tall enough that every lazily loaded image is in view and gets fetched
        page = browser.new_page(viewport={"width": 1280, "height": 8000})
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
        page.goto((evaluated / "report.html").as_uri())
        page.wait_for_load_state("networkidle")
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"
        )
        images = page.evaluate("document.images.length")
        page.screenshot(path=str(evaluated / "report.png"), full_page=True)
        browser.close()
    assert problems == []
    assert images >= 2 * 4 and broken == 0
    assert Image.open(evaluated / "report.png").size[1] > 300
