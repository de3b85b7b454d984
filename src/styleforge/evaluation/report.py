"""Self-contained HTML comparison pages: a metrics table and rows of images side by side."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path

from styleforge.atomic import atomic_write_bytes

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.row { display: flex; gap: .5rem; flex-wrap: wrap; margin-bottom: 1rem; align-items: flex-start; }
figure { margin: 0; max-width: 32%; min-width: 180px; }
figure img { width: 100%; height: auto; image-rendering: auto; }
figcaption { font-size: .8rem; color: #555; }
"""


@dataclass
class ComparisonRow:
    """One row of images, each with a caption (e.g. input | stylized | ground truth)."""

    title: str
    images: list[tuple[str, Path]]  # (caption, image path)


@dataclass
class Report:
    title: str
    tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)
    rows: list[ComparisonRow] = field(default_factory=list)
    figures: list[tuple[str, Path]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add_table(self, caption: str, header: list[str], body: list[list[str]]) -> None:
        self.tables.append((caption, header, body))

    def write(self, path: Path) -> Path:
        """Write the page; image links are relative so the folder can be moved or zipped."""
        base = path.parent
        esc = html.escape
        parts = [
            "<!doctype html><html><head><meta charset='utf-8'>",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            f"<title>{esc(self.title)}</title><style>{_STYLE}</style></head><body>",
            f"<h1>{esc(self.title)}</h1>",
        ]
        parts += [f"<p>{esc(note)}</p>" for note in self.notes]
        for caption, header, body in self.tables:
            parts.append(f"<table><caption>{esc(caption)}</caption><tr>")
            parts += [f"<th>{esc(h)}</th>" for h in header]
            parts.append("</tr>")
            for row in body:
                parts.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
            parts.append("</table>")
        for caption, image in self.figures:
            parts.append(_figure(caption, image, base))
        for row in self.rows:
            parts.append(f"<h3>{esc(row.title)}</h3><div class='row'>")
            parts += [_figure(caption, image, base) for caption, image in row.images]
            parts.append("</div>")
        parts.append("</body></html>\n")
        atomic_write_bytes(path, "\n".join(parts).encode())
        return path


def _figure(caption: str, image: Path, base: Path) -> str:
    href = html.escape(Path(os.path.relpath(image, base)).as_posix(), quote=True)
    return (
        f"<figure><img src='{href}' alt='{html.escape(caption, quote=True)}' loading='lazy'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )
