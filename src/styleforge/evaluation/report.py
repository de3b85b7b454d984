"""Self-contained HTML comparison pages, laid out for the person reading them.

A page shows, in this order:

1. **Summary**: the first table that does not score single images, one row per compared set
   (the untouched input first, then each model, and the truth where the caller scored it),
   turned so that the sets stand side by side as columns and the measures run down;
2. the notes;
3. **Worst and best**: where a table scores each image (its first column names the images of
   the comparison rows), the rows ranked by the first score in it that is not the identity's,
   the worst and the best few as input | outputs | truth;
4. **All images** (folded away when the worst and best are shown);
5. the other tables, per image: a click on a column header sorts the rows (those that name
   no image, such as a mean, stay at the foot);
6. the figures (charts, loss curves).

Images are linked by relative paths so the folder can be moved or zipped; every text is
escaped; the sort is a few lines of inline script, so the page works offline from a file.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from styleforge.atomic import atomic_write_bytes

SHOWN = 3  # worst and best rows shown above the full list

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
caption { text-align: left; color: #555; padding-bottom: .3rem; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
table.summary th:nth-child(2), table.summary td:nth-child(2) { background: #f2f2f2; }
th button { font: inherit; border: 0; background: none; padding: 0; cursor: pointer; }
th[aria-sort=ascending] button::after { content: " \\25B2"; }
th[aria-sort=descending] button::after { content: " \\25BC"; }
tfoot td { font-weight: 600; }
.note { color: #555; max-width: 60rem; }
.row { display: flex; gap: .5rem; margin-bottom: 1rem; align-items: flex-start; }
figure { margin: 0; flex: 1 1 0; min-width: 0; max-width: 256px; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
.figures figure { flex: 0 1 auto; max-width: 640px; }
figure img { width: 100%; height: auto; }
figcaption { font-size: .8rem; color: #555; overflow-wrap: anywhere; }
summary { cursor: pointer; font-size: 1.17em; font-weight: bold; margin: 1rem 0; }
"""

# Sorts a table.sortable's body by the clicked column: numbers as numbers ("inf" too), then text.
_SCRIPT = """
function cellValue(row, col) {
  const text = row.cells[col].textContent.trim();
  const num = Number(text.replace(/^(-?)inf$/, "$1Infinity"));
  return text !== "" && !Number.isNaN(num) ? num : text;
}
function compare(a, b) {
  if (typeof a !== typeof b) return typeof a === "number" ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
function sortRows(table, th, col) {
  const up = th.getAttribute("aria-sort") !== "ascending";
  for (const cell of th.parentNode.cells) cell.removeAttribute("aria-sort");
  th.setAttribute("aria-sort", up ? "ascending" : "descending");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((a, b) => compare(cellValue(a, col), cellValue(b, col)) * (up ? 1 : -1));
  body.append(...rows);
}
for (const table of document.querySelectorAll("table.sortable")) {
  Array.from(table.tHead.rows[0].cells).forEach((th, col) =>
    th.addEventListener("click", () => sortRows(table, th, col)));
}
"""

# measures where lower is better: errors and distances
_LOWER_IS_BETTER = re.compile(r"\b(MSE|FD|KD|FID|KID|dist|distance)\b")


class Table(NamedTuple):
    """Cells as the caller formatted them: the page shows its numbers, never recomputes them."""

    caption: str
    header: list[str]
    body: list[list[str]]


@dataclass
class ComparisonRow:
    """One row of images, each with a caption (e.g. input | stylized | ground truth)."""

    title: str
    images: list[tuple[str, Path]]  # (caption, image path)


@dataclass(frozen=True)
class Ranking:
    """The per-image score that orders the rows, as the page shows it."""

    label: str  # which column of which table
    lower_is_better: bool
    cells: dict[str, str]  # image title -> the score's text

    def worst_first(self, rows: list[ComparisonRow]) -> list[ComparisonRow]:
        """The scored rows, worst first (ties keep the rows' order)."""
        scored = [row for row in rows if row.title in self.cells]
        return sorted(
            scored, key=lambda row: float(self.cells[row.title]), reverse=self.lower_is_better
        )


@dataclass
class Report:
    """What one page holds; `write` decides where each part goes (see the module's order)."""

    title: str
    tables: list[Table] = field(default_factory=list)
    rows: list[ComparisonRow] = field(default_factory=list)
    figures: list[tuple[str, Path]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add_table(self, caption: str, header: list[str], body: list[list[str]]) -> None:
        self.tables.append(Table(caption, header, body))

    def write(self, path: Path) -> Path:
        """Write the page atomically: a reader never sees half of it."""
        atomic_write_bytes(path, render(self, path.parent).encode())
        return path


def render(report: Report, base: Path) -> str:
    """The whole page, its image links relative to `base` (the page's folder)."""
    titles = {row.title for row in report.rows}
    summary = next((t for t in report.tables if not _scores_images(t, titles)), None)
    details = [t for t in report.tables if t is not summary]
    ranking = _ranking(details, summary, titles)
    parts = [f"<h1>{_esc(report.title)}</h1>"]
    if summary is not None:
        parts.append(_section("summary", "Summary", _table(_side_by_side(summary), "summary")))
    parts += [f"<p class='note'>{_esc(note)}</p>" for note in report.notes]
    ranked = ranking.worst_first(report.rows) if ranking else []
    shown = min(SHOWN, len(ranked) // 2)
    if shown:
        parts.append(_worst_and_best(ranked, shown, ranking, base))
    if report.rows:
        parts.append(_all_images(report.rows, base, folded=bool(shown)))
    if details:
        tables = "".join(_table(t, "sortable", titles) for t in details)
        parts.append(_section("tables", "Per image", tables))
    if report.figures:
        figures = "".join(_figure(caption, image, base) for caption, image in report.figures)
        parts.append(_section("figures", "Charts", f"<div class='figures'>{figures}</div>"))
    return _page(report.title, "\n".join(parts))


def _page(title: str, body: str) -> str:
    """The document around `body`: inline style and script, nothing fetched from elsewhere."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{_esc(title)}</title><style>{_STYLE}</style></head><body>\n"
        f"{body}\n<script>{_SCRIPT}</script></body></html>\n"
    )


def _section(key: str, heading: str, body: str, folded: bool = False) -> str:
    """A part of the page with its heading; a folded one opens on a click on the heading."""
    if folded:
        inner = f"<details><summary>{_esc(heading)}</summary>{body}</details>"
    else:
        inner = f"<h2>{_esc(heading)}</h2>{body}"
    return f"<section id='{key}'>{inner}</section>"


def _scores_images(table: Table, titles: AbstractSet[str]) -> bool:
    """Whether the table has a row per image (its first cell names a comparison row)."""
    return any(row and row[0] in titles for row in table.body)


def _side_by_side(table: Table) -> Table:
    """The summary turned: the compared sets (its rows) become columns, so that a reader
    compares the identity, each model and the truth along one line per measure."""
    header = ["measure", *(row[0] for row in table.body)]
    measures = list(enumerate(table.header))[1:]
    return Table(table.caption, header, [[m, *(row[i] for row in table.body)] for i, m in measures])


def _ranking(
    tables: list[Table], summary: Table | None, titles: AbstractSet[str]
) -> Ranking | None:
    """The first per-image table's first numeric column that is not the identity's (the
    summary's first row). A column named after a compared set takes its measure from the
    caption (e.g. 'SSIM per image'), any other column is the measure itself."""
    compared = [row[0] for row in summary.body] if summary else []
    table = next((t for t in tables if _scores_images(t, titles)), None)
    if table is None:
        return None
    scored = [row for row in table.body if row[0] in titles]
    for col, name in enumerate(table.header[1:], start=1):
        if compared and name == compared[0]:
            continue
        cells = {row[0]: row[col] for row in scored}
        if not all(_is_number(text) for text in cells.values()):
            continue
        measure = table.caption if name in compared else name
        label = f"{name} in “{table.caption}”"
        return Ranking(label, bool(_LOWER_IS_BETTER.search(measure)), cells)
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _worst_and_best(ranked: list[ComparisonRow], shown: int, ranking: Ranking, base: Path) -> str:
    """The `shown` worst and best rows, each titled with its score: where to look first."""
    better = "lower" if ranking.lower_is_better else "higher"
    intro = (
        f"<p class='note'>The {shown} worst and the {shown} best of {len(ranked)} images by "
        f"{_esc(ranking.label)} ({better} is better).</p>"
    )
    groups = [("Worst", ranked[:shown]), ("Best", ranked[::-1][:shown])]
    body = "".join(
        f"<h3>{kind}</h3>"
        + "".join(_image_row(row, base, ranking.cells[row.title], lazy=False) for row in rows)
        for kind, rows in groups
    )
    return _section("worst-best", "Worst and best", intro + body)


def _all_images(rows: list[ComparisonRow], base: Path, folded: bool) -> str:
    """Every row, in the caller's order; folded away when the worst and best stand above."""
    body = "".join(_image_row(row, base, lazy=True) for row in rows)
    return _section("all-images", f"All images ({len(rows)})", body, folded)


def _image_row(row: ComparisonRow, base: Path, score: str = "", lazy: bool = True) -> str:
    title = _esc(row.title) + (f" <small>{_esc(score)}</small>" if score else "")
    figures = "".join(_figure(caption, image, base, lazy) for caption, image in row.images)
    return f"<h4>{title}</h4><div class='row'>{figures}</div>"


def _table(table: Table, kind: str, titles: AbstractSet[str] = frozenset()) -> str:
    """A table of text cells, of class `kind`; a sortable one has its headers as buttons. In a
    per-image table the rows that name no image (a mean) go to the foot, where no sort moves
    them."""
    sortable = kind == "sortable"
    head = "".join(
        f"<th><button type='button'>{_esc(h)}</button></th>" if sortable else f"<th>{_esc(h)}</th>"
        for h in table.header
    )
    per_image = _scores_images(table, titles)
    body = [row for row in table.body if not per_image or row[0] in titles]
    foot = [row for row in table.body if per_image and row[0] not in titles]
    return (
        f"<table class='{kind}'><caption>{_esc(table.caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{_cells(body)}</tbody>"
        + (f"<tfoot>{_cells(foot)}</tfoot>" if foot else "")
        + "</table>"
    )


def _cells(rows: list[list[str]]) -> str:
    return "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)


def _figure(caption: str, image: Path, base: Path, lazy: bool = True) -> str:
    href = _esc(Path(os.path.relpath(image, base)).as_posix())
    loading = " loading='lazy'" if lazy else ""
    return (
        f"<figure><img src='{href}' alt='{_esc(caption)}'{loading}>"
        f"<figcaption>{_esc(caption)}</figcaption></figure>"
    )


def _esc(text: str) -> str:
    """Text as HTML, quotes included (captions go into attributes too)."""
    return html.escape(str(text), quote=True)
