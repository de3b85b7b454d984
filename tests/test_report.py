"""The evaluation report: the summary first, then the worst and best images, then the per-image
table (sortable); escaped text, relative links; renders in a headless browser with every image
loaded and no console errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from conftest import temp_files
from styleforge.evaluation.report import ComparisonRow, Report

CHROMIUM = Path("/usr/bin/chromium")


def image_rows(folder: Path, names: list[str], models: list[str]) -> list[ComparisonRow]:
    """One row per name: input | each model | truth, as tiny PNGs under `folder`."""
    rows = []
    for name in names:
        images = []
        for caption in ["input", *models, "truth"]:
            path = folder / caption.replace("<", "_").replace(">", "_") / f"{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (4, 4), "gray").save(path)
            images.append((caption, path))
        rows.append(ComparisonRow(name, images))
    return rows


def between(page: str, start: str, end: str) -> str:
    """The part of `page` from `start` to the next `end`."""
    at = page.index(start)
    return page[at : page.index(end, at)]


def evaluation_report(tmp_path: Path, scores: dict[str, float], model: str) -> Report:
    """A report shaped like `evaluate`'s: summary, SSIM per image, one row of images each."""
    report = Report("evaluation <test>")
    report.add_table(
        "mean scores",
        ["model", "SSIM", "FD-ENL0"],
        [["input (identity)", "0.5", "300.0"], [model, "0.6", "200.0"]],
    )
    report.add_table(
        "SSIM per image",
        ["image", "input (identity)", model],
        [[name, "0.5", f"{value:.4f}"] for name, value in scores.items()],
    )
    report.rows = image_rows(tmp_path, list(scores), [model])
    report.notes.append("a note")
    return report


def test_summary_then_worst_and_best_then_the_table_per_image(tmp_path: Path) -> None:
    scores = {f"img{i}": value for i, value in enumerate([0.7, 0.2, 0.9, 0.4, 0.1, 0.8, 0.5])}
    page = evaluation_report(tmp_path, scores, "run<b>").write(tmp_path / "report.html")
    page = page.read_text()
    order = [
        "<table class='summary'",
        "id='worst-best'",
        "id='all-images'",
        "table class='sortable'",
    ]
    assert [page.index(part) for part in order] == sorted(page.index(part) for part in order)
    # the summary turned: the compared sets side by side, one line per measure
    summary = between(page, "<table class='summary'", "</table>")
    assert "<th>input (identity)</th><th>run&lt;b&gt;</th>" in summary
    assert "<td>FD-ENL0</td><td>300.0</td><td>200.0</td>" in summary
    assert "<b>" not in page and "evaluation &lt;test&gt;" in page
    # SSIM: lower is worse; the three worst, worst first, then the three best, best first
    ranked = between(page, "id='worst-best'", "</section>")
    shown = [part.split(" <small>")[0] for part in ranked.split("<h4>")[1:]]
    assert shown == ["img4", "img1", "img3", "img2", "img5", "img0"]
    assert "<details><summary>All images (7)</summary>" in page
    assert "src='run_b_/img0.png'" in page  # links stay relative to the page
    assert temp_files(tmp_path) == []


def test_a_distance_ranks_lowest_best_and_a_mean_row_stays_at_the_foot(tmp_path: Path) -> None:
    report = Report("demo")
    report.add_table("style", ["", "probe share"], [["identity", "0.0"], ["model", "0.7"]])
    report.add_table(
        "vs truth",
        ["image", "MSE", "SSIM"],
        [["a", "30.0", "0.1"], ["b", "10.0", "0.2"], ["mean", "20.0", "0.15"]],
    )
    report.rows = image_rows(tmp_path, ["a", "b"], ["model"])
    page = report.write(tmp_path / "report.html").read_text()
    assert "<th>measure</th><th>identity</th><th>model</th>" in page
    ranked = between(page, "id='worst-best'", "</section>")
    assert ranked.index("<h4>a") < ranked.index("<h4>b") and "(lower is better)" in ranked
    per_image = between(page, "<table class='sortable'", "</table>")
    assert "<td>mean</td>" not in between(per_image, "<tbody>", "</tbody>")
    assert "<tfoot><tr><td>mean</td>" in per_image


def test_without_scores_per_image_every_image_shows_in_order(tmp_path: Path) -> None:
    report = Report("unpaired")
    report.add_table("mean scores", ["model", "FD-ENL0"], [["input (identity)", "3.0"]])
    report.rows = image_rows(tmp_path, ["b", "a"], ["m"])
    page = report.write(tmp_path / "report.html").read_text()
    assert "worst-best" not in page and "<details>" not in page
    assert page.index("<h4>b") < page.index("<h4>a")


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian chromium not installed (.ci/run installs it)"
)
@pytest.mark.slow
def test_report_renders_in_headless_chromium_without_console_errors(evaluated: Path) -> None:
    from playwright.sync_api import sync_playwright

    per_image = json.loads((evaluated / "metrics.json").read_text())["per_image"]["run0"]
    by_score = sorted(per_image, key=lambda name: per_image[name]["SSIM"])
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
        first_header = page.locator("table").first.locator("thead th").all_inner_texts()
        grid_first = page.evaluate(
            "!!(document.querySelector('#worst-best').compareDocumentPosition("
            "document.querySelector('table.sortable')) & Node.DOCUMENT_POSITION_FOLLOWING)"
        )
        worst_best = page.locator("#worst-best h4").evaluate_all(
            "hs => hs.map(h => h.firstChild.textContent.trim())"
        )
        names = page.locator("table.sortable tbody tr td:first-child")
        before = names.all_inner_texts()
        run0 = page.locator("table.sortable thead th", has_text="run0")
        run0.click()
        ascending = names.all_inner_texts()
        run0.click()
        descending = names.all_inner_texts()
        page.locator("#all-images summary").click()  # the folded rows load once opened
        page.wait_for_function("Array.from(document.images).every(i => i.complete)")
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"
        )
        images = page.evaluate("document.images.length")
        page.screenshot(path=str(evaluated / "report.png"), full_page=True)
        browser.close()
    assert problems == []
    assert first_header == ["measure", "input (identity)", "run0", "run1"]
    assert grid_first
    assert worst_best == [by_score[0], by_score[-1]]  # 2 images: the worst one, the best one
    assert before == ["coffee", "rocket"]  # the order evaluate wrote
    assert ascending == by_score and descending == by_score[::-1]  # a click on run0 sorts by it
    assert images >= 2 * 2 * 4 and broken == 0  # worst and best, then all images
    assert Image.open(evaluated / "report.png").size[1] > 300
